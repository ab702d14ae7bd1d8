import { describe, expect, it } from "vitest";
import { DEFAULT_IFEVAL_OPTIONS, looseVariants, parseIfevalGroundTruth, verifyIfeval } from "./evaluate.ts";
import { INSTRUCTION_IDS } from "./instructions.ts";

type K = Record<string, unknown>;
/** [instruction id, kwargs, response, followed in strict mode] */
const TABLE: [string, K, string, boolean][] = [
  // keywords:existence (case-insensitive substring)
  ["keywords:existence", { keywords: ["cat"] }, "I have a cat.", true],
  ["keywords:existence", { keywords: ["cat"] }, "I have a CAT.", true],
  ["keywords:existence", { keywords: ["cat"] }, "I have a dog.", false],
  ["keywords:existence", { keywords: ["cat", "dog"] }, "cat and dog", true],
  ["keywords:existence", { keywords: ["cat", "dog"] }, "cat only", false],
  ["keywords:existence", { keywords: ["cat"] }, "concatenate", true],
  ["keywords:existence", { keywords: ["c.t"] }, "cat", false],
  ["keywords:existence", { keywords: ["new york"] }, "I love New York!", true],
  // keywords:frequency
  ["keywords:frequency", { keyword: "the", frequency: 2, relation: "at least" }, "the cat and the dog", true],
  [
    "keywords:frequency",
    { keyword: "the", frequency: 3, relation: "at least" },
    "the cat and the dog",
    false,
  ],
  [
    "keywords:frequency",
    { keyword: "the", frequency: 3, relation: "less than" },
    "the cat and the dog",
    true,
  ],
  [
    "keywords:frequency",
    { keyword: "the", frequency: 2, relation: "less than" },
    "the cat and the dog",
    false,
  ],
  ["keywords:frequency", { keyword: "The", frequency: 2, relation: "at least" }, "THE cat and the dog", true],
  ["keywords:frequency", { keyword: "cat", frequency: 1, relation: "at least" }, "concatenate", true],
  ["keywords:frequency", { keyword: "x", frequency: 0, relation: "at least" }, "nothing", true],
  ["keywords:frequency", { keyword: "aa", frequency: 2, relation: "at least" }, "aaaa", true],
  ["keywords:frequency", { keyword: "aa", frequency: 3, relation: "at least" }, "aaaa", false],
  // keywords:forbidden_words (whole words, case-insensitive)
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "this is bad", false],
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "this is BAD!", false],
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "this is badminton", true],
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "this is good", true],
  ["keywords:forbidden_words", { forbidden_words: ["bad", "ugly"] }, "the ugly truth", false],
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "bad_guy", true],
  ["keywords:forbidden_words", { forbidden_words: ["bad"] }, "(bad)", false],
  ["keywords:forbidden_words", { forbidden_words: ["naïve"] }, "so naïve.", false],
  ["keywords:forbidden_words", { forbidden_words: ["naïve"] }, "so naïveté.", true],
  // keywords:letter_frequency (case-insensitive letter count)
  ["keywords:letter_frequency", { letter: "a", let_frequency: 3, let_relation: "at least" }, "banana", true],
  ["keywords:letter_frequency", { letter: "a", let_frequency: 4, let_relation: "at least" }, "banana", false],
  ["keywords:letter_frequency", { letter: "A", let_frequency: 3, let_relation: "at least" }, "bAnAna", true],
  ["keywords:letter_frequency", { letter: "z", let_frequency: 1, let_relation: "less than" }, "banana", true],
  [
    "keywords:letter_frequency",
    { letter: "n", let_frequency: 2, let_relation: "less than" },
    "banana",
    false,
  ],
  ["keywords:letter_frequency", { letter: " q ", let_frequency: 1, let_relation: "at least" }, "Queen", true],
  // language:response_language
  [
    "language:response_language",
    { language: "en" },
    "The quick brown fox jumps over the lazy dog near the river bank.",
    true,
  ],
  [
    "language:response_language",
    { language: "fr" },
    "The quick brown fox jumps over the lazy dog near the river bank.",
    false,
  ],
  [
    "language:response_language",
    { language: "fr" },
    "Bonjour tout le monde, comment allez-vous aujourd'hui ?",
    true,
  ],
  [
    "language:response_language",
    { language: "es" },
    "Hola, ¿cómo estás? Estoy muy bien, gracias por preguntar.",
    true,
  ],
  [
    "language:response_language",
    { language: "de" },
    "Hallo, wie geht es dir heute? Mir geht es sehr gut.",
    true,
  ],
  ["language:response_language", { language: "ru" }, "Привет, как дела? У меня всё хорошо, спасибо.", true],
  [
    "language:response_language",
    { language: "ja" },
    "こんにちは、お元気ですか？今日はとても良い天気ですね。",
    true,
  ],
  ["language:response_language", { language: "hi" }, "नमस्ते, आप कैसे हैं? मैं बिल्कुल ठीक हूँ, धन्यवाद।", true],
  ["language:response_language", { language: "en" }, "Привет, как дела? У меня всё хорошо, спасибо.", false],
  ["language:response_language", { language: "fr" }, "ok", true],
  [
    "language:response_language",
    { language: "it" },
    "Ciao, come stai? Io sto molto bene, grazie mille.",
    true,
  ],
  [
    "language:response_language",
    { language: "pt" },
    "Olá, como você está? Eu estou muito bem, obrigado.",
    true,
  ],
  // length_constraints:number_sentences
  ["length_constraints:number_sentences", { num_sentences: 2, relation: "at least" }, "One. Two.", true],
  ["length_constraints:number_sentences", { num_sentences: 3, relation: "at least" }, "One. Two.", false],
  ["length_constraints:number_sentences", { num_sentences: 3, relation: "less than" }, "One. Two.", true],
  ["length_constraints:number_sentences", { num_sentences: 2, relation: "less than" }, "One. Two.", false],
  [
    "length_constraints:number_sentences",
    { num_sentences: 3, relation: "at least" },
    "Hi! How are you? Fine.",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "less than" },
    "Mr. Smith went to Washington.",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "less than" },
    "It costs 3.5 dollars today.",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "less than" },
    "J. R. R. Tolkien wrote books.",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "less than" },
    "Use e.g. apples here.",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "at least" },
    'He said "stop." Then he left.',
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 1, relation: "at least" },
    "no punctuation at all",
    true,
  ],
  [
    "length_constraints:number_sentences",
    { num_sentences: 2, relation: "less than" },
    "line one\nline two",
    true,
  ],
  // length_constraints:number_paragraphs (*** separated)
  ["length_constraints:number_paragraphs", { num_paragraphs: 2 }, "First.\n***\nSecond.", true],
  ["length_constraints:number_paragraphs", { num_paragraphs: 3 }, "First.\n***\nSecond.", false],
  ["length_constraints:number_paragraphs", { num_paragraphs: 1 }, "Only one paragraph.", true],
  ["length_constraints:number_paragraphs", { num_paragraphs: 2 }, "***\nFirst.\n***\nSecond.\n***", true],
  ["length_constraints:number_paragraphs", { num_paragraphs: 2 }, "First.\n***\n***\nSecond.", false],
  ["length_constraints:number_paragraphs", { num_paragraphs: 3 }, "a *** b *** c", true],
  ["length_constraints:number_paragraphs", { num_paragraphs: 1 }, "a\n\nb", true],
  // length_constraints:number_words (\w+ runs)
  ["length_constraints:number_words", { num_words: 3, relation: "at least" }, "one two three", true],
  ["length_constraints:number_words", { num_words: 4, relation: "at least" }, "one two three", false],
  ["length_constraints:number_words", { num_words: 4, relation: "less than" }, "one two three", true],
  ["length_constraints:number_words", { num_words: 3, relation: "less than" }, "one two three", false],
  ["length_constraints:number_words", { num_words: 4, relation: "at least" }, "don't stop-now", true],
  ["length_constraints:number_words", { num_words: 2, relation: "at least" }, "3.14 is pi", true],
  ["length_constraints:number_words", { num_words: 3, relation: "at least" }, "héllo wörld ça", true],
  ["length_constraints:number_words", { num_words: 1, relation: "less than" }, "!!! ???", true],
  ["length_constraints:number_words", { num_words: 2, relation: "at least" }, "snake_case word", true],
  ["length_constraints:number_words", { num_words: 3, relation: "at least" }, "snake_case word", false],
  // length_constraints:nth_paragraph_first_word
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 2, first_word: "second" },
    "First para.\n\nSecond para.",
    true,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 2, first_word: "second" },
    "First para.\n\nThird para.",
    false,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 3, nth_paragraph: 2, first_word: "second" },
    "First para.\n\nSecond para.",
    false,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 1, first_word: "hello" },
    '"Hello, world."\n\nBye.',
    true,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 1, first_word: "hello" },
    "'Hello' world.\n\nBye.",
    true,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 3, first_word: "bye" },
    "A.\n\nBye.",
    false,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 2, first_word: "bye" },
    "A.\n\n\n\nBye.",
    false,
  ],
  [
    "length_constraints:nth_paragraph_first_word",
    { num_paragraphs: 2, nth_paragraph: 2, first_word: "Bye" },
    "A.\n\nBye!",
    true,
  ],
  // detectable_content:postscript
  ["detectable_content:postscript", { postscript_marker: "P.S." }, "Hello.\nP.S. see you", true],
  ["detectable_content:postscript", { postscript_marker: "P.S." }, "Hello.\np.s. see you", true],
  ["detectable_content:postscript", { postscript_marker: "P.S." }, "Hello.\nPS see you", false],
  ["detectable_content:postscript", { postscript_marker: "P.P.S" }, "Hi\nP.P.S. more", true],
  ["detectable_content:postscript", { postscript_marker: "P.P.S" }, "Hi\nP. P. S more", true],
  ["detectable_content:postscript", { postscript_marker: "P.P.S" }, "Hi\nP.S. more", false],
  ["detectable_content:postscript", { postscript_marker: "Note:" }, "Text\nNOTE: remember", true],
  ["detectable_content:postscript", { postscript_marker: "Note:" }, "Text without it", false],
  // detectable_content:number_placeholders
  ["detectable_content:number_placeholders", { num_placeholders: 2 }, "Dear [name], at [address].", true],
  ["detectable_content:number_placeholders", { num_placeholders: 3 }, "Dear [name], at [address].", false],
  ["detectable_content:number_placeholders", { num_placeholders: 1 }, "no brackets", false],
  ["detectable_content:number_placeholders", { num_placeholders: 1 }, "[]", true],
  ["detectable_content:number_placeholders", { num_placeholders: 2 }, "[a [b] c]", false],
  // detectable_format:number_bullet_lists
  ["detectable_format:number_bullet_lists", { num_bullets: 2 }, "* one\n* two", true],
  ["detectable_format:number_bullet_lists", { num_bullets: 3 }, "* one\n* two", false],
  ["detectable_format:number_bullet_lists", { num_bullets: 2 }, "- one\n- two", true],
  ["detectable_format:number_bullet_lists", { num_bullets: 3 }, "* one\n- two\n  * three", true],
  ["detectable_format:number_bullet_lists", { num_bullets: 1 }, "**bold** text\n* item", true],
  ["detectable_format:number_bullet_lists", { num_bullets: 0 }, "plain text", true],
  ["detectable_format:number_bullet_lists", { num_bullets: 1 }, "* one\n* two", false],
  // detectable_format:constrained_response
  ["detectable_format:constrained_response", {}, "My answer is yes.", true],
  ["detectable_format:constrained_response", {}, "Well... My answer is maybe.", true],
  ["detectable_format:constrained_response", {}, "My answer is yes", false],
  ["detectable_format:constrained_response", {}, "my answer is no.", false],
  ["detectable_format:constrained_response", {}, "Yes.", false],
  // detectable_format:number_highlighted_sections
  ["detectable_format:number_highlighted_sections", { num_highlights: 2 }, "*one* and *two*", true],
  ["detectable_format:number_highlighted_sections", { num_highlights: 3 }, "*one* and *two*", false],
  ["detectable_format:number_highlighted_sections", { num_highlights: 1 }, "**bold**", true],
  ["detectable_format:number_highlighted_sections", { num_highlights: 1 }, "* *", false],
  ["detectable_format:number_highlighted_sections", { num_highlights: 1 }, "*a\nb*", false],
  ["detectable_format:number_highlighted_sections", { num_highlights: 2 }, "*a* *b* *c*", true],
  // detectable_format:multiple_sections
  [
    "detectable_format:multiple_sections",
    { section_spliter: "SECTION", num_sections: 2 },
    "SECTION 1\na\nSECTION 2\nb",
    true,
  ],
  [
    "detectable_format:multiple_sections",
    { section_spliter: "SECTION", num_sections: 3 },
    "SECTION 1\na\nSECTION 2\nb",
    false,
  ],
  [
    "detectable_format:multiple_sections",
    { section_spliter: "Section", num_sections: 2 },
    "SECTION 1\na\nSECTION 2\nb",
    false,
  ],
  [
    "detectable_format:multiple_sections",
    { section_spliter: "Part", num_sections: 1 },
    "Part 1: intro",
    true,
  ],
  [
    "detectable_format:multiple_sections",
    { section_spliter: "Part", num_sections: 1 },
    "Part one: intro",
    false,
  ],
  // detectable_format:json_format
  ["detectable_format:json_format", {}, '{"a": 1}', true],
  ["detectable_format:json_format", {}, '```json\n{"a": 1}\n```', true],
  ["detectable_format:json_format", {}, "```JSON\n[1, 2]\n```", true],
  ["detectable_format:json_format", {}, '```\n{"a": 1}\n```', true],
  ["detectable_format:json_format", {}, "{'a': 1}", false],
  ["detectable_format:json_format", {}, 'Here: {"a": 1}', false],
  ["detectable_format:json_format", {}, "42", true],
  // detectable_format:title
  ["detectable_format:title", {}, "<<My Title>>\nText", true],
  ["detectable_format:title", {}, "<< >>\nText", false],
  ["detectable_format:title", {}, "<<Two\nLines>>", false],
  ["detectable_format:title", {}, "No title", false],
  ["detectable_format:title", {}, "text <<title>> text", true],
  // combination:two_responses
  ["combination:two_responses", {}, "First answer.\n******\nSecond answer.", true],
  ["combination:two_responses", {}, "Same.\n******\nSame.", false],
  ["combination:two_responses", {}, "Only one answer.", false],
  ["combination:two_responses", {}, "A\n******\nB\n******\nC", false],
  ["combination:two_responses", {}, "******\nA\n******\nB\n******", true],
  ["combination:two_responses", {}, "A\n******\n\n******\nB", false],
  // combination:repeat_prompt
  ["combination:repeat_prompt", { prompt_to_repeat: "Write a poem." }, "Write a poem. Roses are red.", true],
  ["combination:repeat_prompt", { prompt_to_repeat: "Write a poem." }, "  write a POEM. Roses.", true],
  ["combination:repeat_prompt", { prompt_to_repeat: "Write a poem." }, "Roses are red. Write a poem.", false],
  // startend:end_checker
  ["startend:end_checker", { end_phrase: "Any other questions?" }, "Done. Any other questions?", true],
  ["startend:end_checker", { end_phrase: "Any other questions?" }, "Done. any other questions?  ", true],
  ["startend:end_checker", { end_phrase: "Any other questions?" }, '"Done. Any other questions?"', true],
  ["startend:end_checker", { end_phrase: "Any other questions?" }, "Any other questions? Done.", false],
  ["startend:end_checker", { end_phrase: "bye" }, "goodbye", true],
  // startend:quotation
  ["startend:quotation", {}, '"quoted"', true],
  ["startend:quotation", {}, '  "quoted"  ', true],
  ["startend:quotation", {}, '"', false],
  ["startend:quotation", {}, "'single'", false],
  ["startend:quotation", {}, '"open only', false],
  // change_case:capital_word_frequency
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 2, capital_relation: "at least" },
    "THE CAT sat",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 3, capital_relation: "at least" },
    "THE CAT sat",
    false,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 3, capital_relation: "less than" },
    "THE CAT sat",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 1, capital_relation: "less than" },
    "The Cat sat",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 1, capital_relation: "at least" },
    "I am here",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 2, capital_relation: "at least" },
    "DON'T go",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 2, capital_relation: "at least" },
    "A1 B2",
    true,
  ],
  [
    "change_case:capital_word_frequency",
    { capital_frequency: 1, capital_relation: "at least" },
    "123 !!!",
    false,
  ],
  // change_case:english_capital
  ["change_case:english_capital", {}, "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG", true],
  ["change_case:english_capital", {}, "THE QUICK BROWN FOX JUMPS OVER THE LAZY dog", false],
  ["change_case:english_capital", {}, "CAT DOG", true],
  ["change_case:english_capital", {}, "123", false],
  ["change_case:english_capital", {}, "ПРИВЕТ, КАК ДЕЛА? У МЕНЯ ВСЁ ХОРОШО, СПАСИБО.", false],
  // change_case:english_lowercase
  ["change_case:english_lowercase", {}, "the quick brown fox jumps over the lazy dog", true],
  ["change_case:english_lowercase", {}, "The quick brown fox jumps over the lazy dog", false],
  ["change_case:english_lowercase", {}, "cat dog", true],
  ["change_case:english_lowercase", {}, "bonjour tout le monde, comment allez-vous aujourd'hui", false],
  ["change_case:english_lowercase", {}, "!!!", false],
  // punctuation:no_comma
  ["punctuation:no_comma", {}, "no commas here", true],
  ["punctuation:no_comma", {}, "one, two", false],
  ["punctuation:no_comma", {}, "full width，comma", true],
];

function strict(id: string, kwargs: K, response: string) {
  return verifyIfeval(response, { instruction_id_list: [id], kwargs: [kwargs] });
}

describe("IFEval instructions (strict)", () => {
  it.each(TABLE)("%s %j on %j → %s", (id, kwargs, response, expected) => {
    const v = strict(id, kwargs, response);
    expect(v.status).toBe(expected ? "correct" : "incorrect");
    expect(v.reward).toBe(expected ? 1 : 0);
  });

  it("covers all 25 instruction ids", () => {
    expect(INSTRUCTION_IDS.length).toBe(25);
    expect(new Set(TABLE.map((r) => r[0]))).toEqual(new Set(INSTRUCTION_IDS));
  });
});

describe("loose mode", () => {
  const loose = { ...DEFAULT_IFEVAL_OPTIONS, mode: "loose" as const };
  const cases: [string, K, string, boolean, boolean][] = [
    // [id, kwargs, response, strict, loose]
    ["startend:quotation", {}, 'Sure, here it is:\n"quoted"', false, true],
    ["detectable_format:title", {}, "Intro line\n<<Title>>", true, true],
    [
      "change_case:english_lowercase",
      {},
      "Here you go:\nthe quick brown fox jumps over the lazy dog",
      false,
      true,
    ],
    ["punctuation:no_comma", {}, "Sure, here:\nno commas in the body\nThanks, bye", false, true],
    ["punctuation:no_comma", {}, "a, b\nc, d\ne, f", false, false],
    ["detectable_format:json_format", {}, 'Here is JSON:\n{"a": 1}', false, true],
    ["startend:end_checker", { end_phrase: "the end" }, "story, the end\nP.S. hi", false, true],
    ["keywords:forbidden_words", { forbidden_words: ["sure"] }, "Sure!\nthe answer is 4", false, true],
    ["combination:repeat_prompt", { prompt_to_repeat: "say hi" }, "**say hi** hi", false, true],
    ["startend:quotation", {}, '**"quoted"**', false, true],
  ];
  it.each(cases)("%s on %j: strict %s, loose %s", (id, kwargs, response, s, l) => {
    const gt = { instruction_id_list: [id], kwargs: [kwargs] };
    expect(verifyIfeval(response, gt).reward).toBe(s ? 1 : 0);
    expect(verifyIfeval(response, gt, loose).reward).toBe(l ? 1 : 0);
  });

  it("builds the 8 variants in the original's order", () => {
    expect(looseVariants("a*\nb\nc*")).toEqual([
      "a*\nb\nc*",
      "a\nb\nc",
      "b\nc*",
      "a*\nb",
      "b",
      "b\nc",
      "a\nb",
      "b",
    ]);
  });
});

describe("ground truth validation: errors, never passes", () => {
  const bad: [unknown, string][] = [
    [{ instruction_id_list: ["keywords:nope"], kwargs: [{}] }, "unknown instruction id"],
    [{ instruction_id_list: ["punctuation:no_comma"], kwargs: [{ extra: 1 }] }, "unknown kwarg"],
    [{ instruction_id_list: ["keywords:existence"], kwargs: [{}] }, "missing kwarg"],
    [
      { instruction_id_list: ["keywords:existence"], kwargs: [{ keywords: "cat" }] },
      "list of non-empty strings",
    ],
    [
      {
        instruction_id_list: ["length_constraints:number_words"],
        kwargs: [{ num_words: 5, relation: "more than" }],
      },
      "must be one of",
    ],
    [
      {
        instruction_id_list: ["length_constraints:number_words"],
        kwargs: [{ num_words: "5", relation: "at least" }],
      },
      "integer",
    ],
    [
      {
        instruction_id_list: ["length_constraints:number_words"],
        kwargs: [{ num_words: 2.5, relation: "at least" }],
      },
      "integer",
    ],
    [
      {
        instruction_id_list: ["keywords:letter_frequency"],
        kwargs: [{ letter: "ab", let_frequency: 1, let_relation: "at least" }],
      },
      "one ASCII letter",
    ],
    [{ instruction_id_list: ["punctuation:no_comma"], kwargs: [{}, {}] }, "one entry per instruction"],
    [{ instruction_id_list: [], kwargs: [] }, "non-empty list"],
    [{ kwargs: [] }, "non-empty list"],
    ["not json", "not JSON"],
    [null, "must be an object"],
    [[1, 2], "must be an object"],
    [{ instruction_id_list: ["punctuation:no_comma"], kwargs: ["x"] }, "must be an object"],
  ];
  it.each(bad)("%j → error", (gt, message) => {
    const v = verifyIfeval("anything, at all", gt);
    expect(v.status).toBe("error");
    expect(v.reward).toBe(0);
    expect(v.detail).toContain(message);
  });

  it("null-valued kwargs (Hugging Face copy) are ignored", () => {
    const gt = {
      instruction_id_list: ["punctuation:no_comma", "keywords:existence"],
      kwargs: [
        { keywords: null, num_words: null },
        { keywords: ["cat"], relation: null },
      ],
    };
    expect(verifyIfeval("a cat", gt).status).toBe("correct");
  });

  it("accepts a JSON string ground truth", () => {
    const gt = JSON.stringify({ instruction_id_list: ["punctuation:no_comma"], kwargs: [{}] });
    expect(verifyIfeval("ok", gt).status).toBe("correct");
    expect(parseIfevalGroundTruth(gt).ok).toBe(true);
  });
});

describe("rewards and gating", () => {
  const gt = {
    instruction_id_list: ["punctuation:no_comma", "startend:quotation", "keywords:existence"],
    kwargs: [{}, {}, { keywords: ["cat"] }],
  };
  it("all-or-nothing by default (paper: strict prompt level)", () => {
    expect(verifyIfeval('"a cat"', gt)).toMatchObject({ reward: 1, status: "correct" });
    expect(verifyIfeval('"a, cat"', gt)).toMatchObject({ reward: 0, status: "incorrect" });
  });
  it("fraction reward", () => {
    const v = verifyIfeval('"a, cat"', gt, { ...DEFAULT_IFEVAL_OPTIONS, reward: "fraction" });
    expect(v.reward).toBeCloseTo(2 / 3, 12);
    expect(v.detail).toContain("punctuation:no_comma");
  });
  it("think gate: only the text after </think> is graded", () => {
    expect(verifyIfeval('<think>a, b</think>"a cat"', gt).status).toBe("correct");
    expect(verifyIfeval('<think>"a cat"', gt).status).toBe("unparsable");
    const req = { ...DEFAULT_IFEVAL_OPTIONS, thinkGate: "required" as const };
    expect(verifyIfeval('"a cat"', gt, req).status).toBe("unparsable");
  });
  it("empty response is unparsable", () => {
    expect(verifyIfeval("   ", gt)).toMatchObject({ reward: 0, status: "unparsable" });
  });
});

describe("hostile responses finish in bounded time (no regex blow-up)", () => {
  const N = 50_000;
  const hostile = [
    " ".repeat(N),
    "\n".repeat(N),
    "[".repeat(N),
    "<<".repeat(N / 2),
    "Mr. ".repeat(N / 4),
    ".".repeat(N),
    `.${" ".repeat(N)}x`,
    "\n* x".repeat(N / 4),
    "*".repeat(N),
  ];
  const kwargs: Record<string, Record<string, unknown>> = {
    "keywords:existence": { keywords: ["cat"] },
    "keywords:frequency": { keyword: "cat", frequency: 2, relation: "at least" },
    "keywords:forbidden_words": { forbidden_words: ["cat"] },
    "keywords:letter_frequency": { letter: "a", let_frequency: 2, let_relation: "at least" },
    "language:response_language": { language: "en" },
    "length_constraints:number_sentences": { num_sentences: 2, relation: "at least" },
    "length_constraints:number_paragraphs": { num_paragraphs: 2 },
    "length_constraints:number_words": { num_words: 2, relation: "at least" },
    "length_constraints:nth_paragraph_first_word": { num_paragraphs: 2, nth_paragraph: 1, first_word: "a" },
    "detectable_content:postscript": { postscript_marker: "P.S." },
    "detectable_content:number_placeholders": { num_placeholders: 2 },
    "detectable_format:number_bullet_lists": { num_bullets: 2 },
    "detectable_format:number_highlighted_sections": { num_highlights: 2 },
    "detectable_format:multiple_sections": { section_spliter: "SECTION", num_sections: 2 },
    "combination:repeat_prompt": { prompt_to_repeat: "x" },
    "startend:end_checker": { end_phrase: "x" },
    "change_case:capital_word_frequency": { capital_frequency: 2, capital_relation: "at least" },
  };
  it("all instructions, strict and loose, stay under 2 s per response", () => {
    const gt = {
      instruction_id_list: [...INSTRUCTION_IDS],
      kwargs: INSTRUCTION_IDS.map((id) => kwargs[id] ?? {}),
    };
    for (const response of hostile) {
      for (const mode of ["strict", "loose"] as const) {
        const t0 = performance.now();
        const v = verifyIfeval(response, gt, { ...DEFAULT_IFEVAL_OPTIONS, mode });
        expect(performance.now() - t0).toBeLessThan(2000);
        expect(["incorrect", "unparsable"]).toContain(v.status);
      }
    }
  });
});
