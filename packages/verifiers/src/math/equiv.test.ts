import { describe, expect, it } from "vitest";
import { mathEqual } from "./verify.ts";

/** [gold, prediction, equivalent?] — table of answer pairs (no extraction). */
const TABLE: [string, string, boolean][] = [
  // integers
  ["19", "19", true],
  ["19", "18", false],
  ["-7", "-7", true],
  ["-7", "7", false],
  ["+7", "7", true],
  ["0", "-0", true],
  ["007", "7", true],
  ["1,000", "1000", true],
  ["1,000,000", "1000000", true],
  ["1000", "1,000", true],
  ["12,345", "12345", true],
  ["123456789012345678901234567890", "123456789012345678901234567890", true],
  ["123456789012345678901234567890", "123456789012345678901234567891", false],
  ["100000000000000000000", "100000000000000000001", false],
  ["10^{20}", "100000000000000000000", true],
  ["2^{10}", "1024", true],
  ["2^10", "1024", true],
  ["1024", "2^{10}", true],
  // decimals
  ["0.5", "0.5", true],
  ["0.5", ".5", true],
  ["0.50", "0.5", true],
  ["3.14", "3.14", true],
  ["3.14", "3.15", false],
  ["2.0", "2", true],
  ["1.001", "1", false],
  ["0.333333", "\\frac{1}{3}", true],
  ["1.5e3", "1500", true],
  ["1.5 \\times 10^{3}", "1500", true],
  ["6.02 \\times 10^{23}", "6.02e23", true],
  ["3 \\cdot 10^5", "300000", true],
  ["1e-3", "0.001", true],
  // fractions
  ["1/2", "\\frac{1}{2}", true],
  ["\\frac{1}{2}", "0.5", true],
  ["\\dfrac{1}{2}", "\\frac12", true],
  ["\\tfrac{3}{4}", "0.75", true],
  ["\\frac{2}{4}", "\\frac{1}{2}", true],
  ["-\\frac{1}{2}", "\\frac{-1}{2}", true],
  ["-\\frac{1}{2}", "-0.5", true],
  ["\\frac{1}{2}", "-\\frac{1}{2}", false],
  ["\\frac{3}{2}", "1.5", true],
  ["\\frac{22}{7}", "\\pi", false],
  ["2\\frac{1}{2}", "\\frac{5}{2}", true],
  ["2\\frac12", "2.5", true],
  ["-1\\frac{1}{4}", "-1.25", true],
  ["\\frac{10}{3}", "3.333333", true],
  ["\\frac{7}{3}", "\\frac{14}{6}", true],
  ["3/4", "6/8", true],
  ["3/4", "4/3", false],
  ["\\frac{\\sqrt{3}}{2}", "\\frac{1}{2}\\sqrt{3}", true],
  ["\\frac{1}{\\sqrt{2}}", "\\frac{\\sqrt{2}}{2}", true],
  ["\\frac{a}{b}", "a/b", true],
  // percentages
  ["50\\%", "50", true],
  ["50\\%", "50%", true],
  ["50\\%", "0.5", true],
  ["0.5", "50\\%", true],
  ["50\\%", "0.05", false],
  ["12.5\\%", "12.5", true],
  ["25%", "\\frac{1}{4}", true],
  // noise
  ["5", "5 \\text{ cm}", true],
  ["5", "5 cm", true],
  ["5 \\text{ cm}", "5", true],
  ["30", "30^\\circ", true],
  ["30^{\\circ}", "30", true],
  ["30", "30°", true],
  ["5", "\\$5", true],
  ["5", "$5$", true],
  ["\\$5.00", "5", true],
  ["12", "12 dollars", true],
  ["90", "90 degrees", true],
  ["7", "\\mathrm{7}", true],
  ["7", "\\textbf{7}", true],
  ["7", "{7}", true],
  ["7", "7.", true],
  ["7", "\\left(7\\right)", true],
  ["\\left( 1, 2 \\right)", "(1,2)", true],
  ["3", "\\displaystyle 3", true],
  ["10", "10\\!", true],
  ["2", "\\,2\\,", true],
  ["−3", "-3", true],
  // expressions
  ["2\\pi", "2 \\pi", true],
  ["2\\pi", "\\pi \\cdot 2", true],
  ["2\\pi", "6.283185", true],
  ["2\\pi", "6.28", false],
  ["\\sqrt{2}", "2^{1/2}", true],
  ["\\sqrt{2}", "1.41421356", true],
  ["\\sqrt{2}", "1.414", false],
  ["\\sqrt{8}", "2\\sqrt{2}", true],
  ["\\sqrt[3]{8}", "2", true],
  ["\\sqrt{12}", "2\\sqrt3", true],
  ["3\\sqrt{2}", "\\sqrt{18}", true],
  ["\\sqrt{2}+\\sqrt{3}", "\\sqrt{3}+\\sqrt{2}", true],
  ["x^2+2x+1", "(x+1)^2", true],
  ["x^2-1", "(x-1)(x+1)", true],
  ["x^2-1", "(x-1)^2", false],
  ["2x+3", "3+2x", true],
  ["2x+3", "2x+4", false],
  ["\\frac{x}{2}", "0.5x", true],
  ["\\frac{x+1}{x-1}", "\\frac{1+x}{x-1}", true],
  ["\\frac{x+1}{x-1}", "\\frac{x-1}{x+1}", false],
  ["xy", "yx", true],
  ["x+y", "x+z", false],
  ["a^2b", "b a^2", true],
  ["x_1 + x_2", "x_2 + x_1", true],
  ["x_1", "x_2", false],
  ["\\sin^2 x + \\cos^2 x", "1", true],
  ["\\sin(2x)", "2\\sin x \\cos x", true],
  ["\\sin(2x)", "2\\sin(x)", false],
  ["\\cos(0)", "1", true],
  ["\\tan\\frac{\\pi}{4}", "1", true],
  ["\\sin^{-1}(1)", "\\frac{\\pi}{2}", true],
  ["\\arcsin(1)", "\\frac{\\pi}{2}", true],
  ["\\ln(e)", "1", true],
  ["\\ln(e^2)", "2", true],
  ["\\log_2 8", "3", true],
  ["\\log_{2}{16}", "4", true],
  ["e^{i\\pi}", "-1", true],
  ["e^{2}", "e^2", true],
  ["2e", "e+e", true],
  ["\\binom{5}{2}", "10", true],
  ["\\dbinom{6}{3}", "20", true],
  ["5!", "120", true],
  ["|{-3}|", "3", true],
  ["\\lfloor 3.7 \\rfloor", "3", true],
  ["\\lceil 3.2 \\rceil", "4", true],
  ["\\frac{\\pi}{3}", "60\\pi/180", true],
  ["4\\pi r^2", "4 r^2 \\pi", true],
  ["\\frac{4}{3}\\pi r^3", "\\frac{4\\pi r^3}{3}", true],
  ["\\alpha + \\beta", "\\beta + \\alpha", true],
  ["\\theta", "\\phi", false],
  ["\\infty", "\\infty", true],
  ["-\\infty", "\\infty", false],
  ["x^{-1}", "\\frac{1}{x}", true],
  ["\\sqrt{x^2}", "x", true],
  ["2^{x+1}", "2 \\cdot 2^x", true],
  ["(x+1)^3", "x^3+3x^2+3x+1", true],
  ["(x+1)^3", "x^3+3x^2+3x+2", false],
  ["\\frac{1}{2}x^2", "x^2/2", true],
  ["sqrt(2)/2", "\\frac{\\sqrt{2}}{2}", true],
  ["2*x + 1", "2x+1", true],
  ["x^2", "x**2", false],
  ["10\\sqrt{5}", "\\sqrt{500}", true],
  ["\\frac{9}{\\sqrt{3}}", "3\\sqrt{3}", true],
  ["\\pi^2", "9.8696044", true],
  // equations
  ["x=3", "3", true],
  ["3", "x = 3", true],
  ["3", "x = 4", false],
  ["y = 2x+1", "y=1+2x", true],
  ["y = 2x+1", "2x - y + 1 = 0", true],
  ["y = 2x+1", "y = 2x+2", false],
  ["x = 3", "3 = x", true],
  ["k = 5", "5", true],
  ["f(x) = 2x", "2x", true],
  ["2x", "f(x)=2x", true],
  ["\\theta = \\frac{\\pi}{2}", "\\frac{\\pi}{2}", true],
  ["x + 1 = 3", "3", false],
  ["x+y=3", "3", false],
  ["2y = 4x+2", "y = 2x+1", true],
  ["2y = 4x+2", "y = 2x+2", false],
  ["x^2 + y^2 = 1", "y^2 + x^2 = 1", true],
  ["x^2 + y^2 = 1", "2x^2 + 2y^2 = 2", true],
  // inequalities read as intervals
  ["x > 3", "(3, \\infty)", true],
  ["x \\geq 3", "[3, \\infty)", true],
  ["x \\ge 3", "(3, \\infty)", false],
  ["x < -1", "(-\\infty, -1)", true],
  ["x \\leq 2", "(-\\infty, 2]", true],
  ["1 < x \\le 2", "(1, 2]", true],
  ["1 < x < 2", "(1, 2)", true],
  ["3 < x", "x > 3", true],
  ["x > 3", "x < 3", false],
  ["x \\neq 2", "x \\ne 2", true],
  // plus-minus
  ["1 \\pm \\sqrt{2}", "1+\\sqrt2, 1-\\sqrt2", true],
  ["1 \\pm \\sqrt{2}", "1-\\sqrt2, 1+\\sqrt2", true],
  ["1 \\pm \\sqrt{2}", "1+\\sqrt2", false],
  ["\\pm 2", "2, -2", true],
  ["x = \\pm 2", "-2, 2", true],
  // tuples and intervals
  ["(1,2)", "(1, 2)", true],
  ["(99,100)", "(99, 100)", true],
  ["(1,000)", "(1, 0)", true],
  ["(1,2)", "(2,1)", false],
  ["(1,2)", "[1,2]", false],
  ["[1,2)", "(1,2)", false],
  ["[1,2)", "[1, 2)", true],
  ["[1,2]", "[1.0, 2]", true],
  ["(-\\infty, 3]", "(-\\infty,3]", true],
  ["(-\\infty, 3]", "(-\\infty,3)", false],
  ["(0, \\infty)", "(0,\\infty)", true],
  ["x \\in [1,2]", "[1,2]", true],
  ["(1, \\frac{1}{2})", "(1, 0.5)", true],
  ["(1,2,3)", "(1,2)", false],
  ["\\langle 1, 2 \\rangle", "(1,2)", true],
  ["(-\\infty,-1)\\cup(1,\\infty)", "(1,\\infty)\\cup(-\\infty,-1)", true],
  ["(-\\infty,-1)\\cup(1,\\infty)", "(-\\infty,-1]\\cup(1,\\infty)", false],
  ["(-\\infty,-1) \\cup (1,\\infty)", "(-\\infty,-1)", false],
  // sets and lists
  ["\\{1,2\\}", "\\{2,1\\}", true],
  ["\\{1,2\\}", "\\{1,2,3\\}", false],
  ["\\{1,2\\}", "1, 2", true],
  ["1, 2", "2, 1", true],
  ["1, 2", "1, 3", false],
  ["-1, 1", "1,-1", true],
  ["\\{\\frac{1}{2}, 3\\}", "\\{3, 0.5\\}", true],
  ["\\emptyset", "\\varnothing", true],
  ["\\emptyset", "\\{\\}", true],
  ["2, 3", "x = 2 or x = 3", true],
  ["2 and 3", "3, 2", true],
  ["1, 2, 3", "1,2,3", true],
  // matrices
  ["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1 & 2\\\\ 3&4\\end{bmatrix}", true],
  ["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\4&3\\end{pmatrix}", false],
  ["\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2&3&4\\end{pmatrix}", false],
  ["\\begin{pmatrix} 1 \\\\ 2 \\end{pmatrix}", "(1,2)", true],
  ["\\begin{pmatrix} \\frac12 \\\\ -1 \\end{pmatrix}", "\\begin{pmatrix} 0.5 \\\\ -1 \\end{pmatrix}", true],
  [
    "\\begin{pmatrix} x & 0 \\\\ 0 & x \\end{pmatrix}",
    "\\begin{pmatrix} x & 0 \\\\ 0 & x \\end{pmatrix}",
    true,
  ],
  // lists of solutions: a repeated tuple counts once; a missing or extra one does not match
  ["(1,2),(3,4)", "(3,4),(1,2),(3,4)", true],
  ["(1,2),(3,4)", "(1,2),(1,2)", false],
  ["(1,2),(3,4)", "(1,2),(3,4),(5,6)", false],
  ["1, 2", "1, 2, 2", false],
  // assignment groups, one per solution
  ["p=5,q=2;p=7,q=2", "(5,2),(7,2)", true],
  ["p=5,q=2;p=7,q=2", "(7,2),(5,2)", true],
  ["p=5,q=2;p=7,q=2", "(5,2),(7,3)", false],
  ["p=5,q=2;q=7,p=2", "(5,2),(7,2)", false],
  // a double inequality on |x| is a union of two intervals
  [
    "1\\leq|z|\\leq \\frac{3}{2}",
    "\\left[-\\frac{3}{2}, -1\\right] \\cup \\left[1, \\frac{3}{2}\\right]",
    true,
  ],
  ["1 < |z| \\le 2", "[-2, -1) \\cup (1, 2]", true],
  ["1 < |z| \\le 2", "[-2, -1] \\cup [1, 2]", false],
  ["1\\le |z| \\le 2", "[1, 2]", false],
  ["1\\le \\lvert z\\rvert \\le 2", "[-2,-1] \\cup [1,2]", true],
  // unit words after a number or a fraction; a variable is not a unit
  ["\\frac{1}{3}", "\\frac{1}{3} \\text{meters}", true],
  ["25", "25 m^2", true],
  ["2", "2 x^2", false],
  ["\\frac{1}{2}", "\\frac{1}{2} x^2", false],
  // approximations: the exact value before `\\approx` is the answer
  ["\\frac{1}{3}", "x=1/3\\approx0.3", true],
  ["x = \\frac{1}{3}", "x = 5+5+1 = 1/3 \\approx 11", true],
  ["1.2", "x \\approx 1.2", true],
  ["1.2, 3.4", "x \\approx 1.2, y \\approx 3.4", true],
  // negated variable in an inequality
  ["x < 1", "-x > -1", true],
  ["x \\le 1", "-x \\ge -1", true],
  ["x < 1", "-x < -1", false],
  // a matrix drawn with brackets around an array
  [
    "\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}",
    "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 4\\end{array}\\right]",
    true,
  ],
  [
    "\\begin{pmatrix}1 & 2 \\\\3 & 4\\end{pmatrix}",
    "\\left[\\begin{array}{cc}1 & 2 \\\\3 & 5\\end{array}\\right]",
    false,
  ],
  // sums and products of numeric matrices are evaluated exactly (AB, not BA)
  [
    "\\begin{pmatrix}6 & 8 \\\\ 10 & 12\\end{pmatrix}",
    "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} + \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
    true,
  ],
  [
    "\\begin{pmatrix}-4 & -4 \\\\ -4 & -4\\end{pmatrix}",
    "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} - \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
    true,
  ],
  [
    "\\begin{pmatrix}19 & 22 \\\\ 43 & 50\\end{pmatrix}",
    "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
    true,
  ],
  [
    "\\begin{pmatrix}23 & 34 \\\\ 31 & 46\\end{pmatrix}",
    "\\begin{pmatrix}1 & 2 \\\\ 3 & 4\\end{pmatrix} \\begin{pmatrix}5 & 6 \\\\ 7 & 8\\end{pmatrix}",
    false,
  ],
  [
    "\\begin{pmatrix}1 & 2\\end{pmatrix}",
    "\\begin{pmatrix}1 & 2\\end{pmatrix} \\begin{pmatrix}1 & 2\\end{pmatrix}",
    false,
  ],
  // text
  ["East", "\\text{east}", true],
  ["\\text{odd}", "odd", true],
  ["odd", "even", false],
  ["\\text{(C)}", "(C)", true],
  ["\\text{(C)}", "C", true],
  ["\\text{(C)}", "\\text{(D)}", false],
  ["\\textbf{(B)}", "B", true],
  ["no solution", "No Solution", true],
  ["Monday", "Tuesday", false],
];

describe("math equivalence table", () => {
  it.each(TABLE)("%s ≡ %s → %s", (gold, pred, expected) => {
    expect(mathEqual(gold, pred)).toBe(expected);
  });

  it("is symmetric on the numeric and structural cases", () => {
    for (const [g, p, e] of TABLE) {
      if (/%|circ|text|cm|dollars|degrees|or |and /.test(g + p)) continue;
      // A gold decimal sets the precision; a predicted one does not (see "decimal precision" below).
      if (/\d\.\d/.test(g) !== /\d\.\d/.test(p)) continue;
      expect({ g, p, r: mathEqual(p, g) }).toEqual({ g, p, r: e });
    }
  });
});

describe("options", () => {
  it("percentAsFraction=false keeps 50% ≠ 0.5 but 50% = 50", () => {
    const o = { tolerance: 1e-6, percentAsFraction: false, equationRhs: true, unorderedLists: true };
    expect(mathEqual("50\\%", "0.5", o)).toBe(false);
    expect(mathEqual("50\\%", "50", o)).toBe(true);
  });
  it("equationRhs=false requires an equation for an equation", () => {
    const o = { tolerance: 1e-6, percentAsFraction: true, equationRhs: false, unorderedLists: true };
    expect(mathEqual("x=3", "3", o)).toBe(false);
    expect(mathEqual("x=3", "x=3", o)).toBe(true);
  });
  it("unorderedLists=false makes bare lists ordered", () => {
    const o = { tolerance: 1e-6, percentAsFraction: true, equationRhs: true, unorderedLists: false };
    expect(mathEqual("1, 2", "2, 1", o)).toBe(false);
    expect(mathEqual("1, 2", "1, 2", o)).toBe(true);
  });
  it("tolerance is relative and configurable", () => {
    const loose = { tolerance: 1e-2, percentAsFraction: true, equationRhs: true, unorderedLists: true };
    expect(mathEqual("\\pi", "3.14", loose)).toBe(true);
    expect(mathEqual("\\pi", "3.14")).toBe(false);
    // Integers never use the tolerance.
    expect(mathEqual("1000", "1001", loose)).toBe(false);
  });
});

/**
 * Tolerance only where a side is a decimal, scaled to its written precision. The gold's decimal sets the precision
 * (half a unit of its last digit) against a value with no finite decimal expansion or a decimal written at least as
 * finely; a prediction's own decimal never widens the comparison; exact values compare exactly.
 */
describe("decimal precision", () => {
  const cases: [string, string, boolean][] = [
    // gold decimal against a non-terminating exact value: within half a unit of the gold's last digit
    ["0.333", "\\frac{1}{3}", true],
    ["0.3333", "\\frac{1}{3}", true],
    ["0.334", "\\frac{1}{3}", false],
    ["0.33", "\\frac{1}{3} \\approx 0.33", true],
    ["0.67", "\\frac{2}{3}", true],
    ["0.66", "\\frac{2}{3}", false],
    ["0.1667", "\\frac{1}{6}", true],
    ["0.1666", "\\frac{1}{6}", false],
    ["1.43", "\\frac{10}{7}", true], // 1.428571… rounds to 1.43
    ["1.42", "\\frac{10}{7}", false],
    // gold decimal against an irrational constant
    ["3.14", "\\pi", true],
    ["3.142", "\\pi", true],
    ["3.141", "\\pi", false], // 0.00059 away: beyond 0.0005
    ["3.1416", "\\pi", true],
    ["3.1415", "\\pi", false], // truncated, not rounded
    ["1.41", "\\sqrt{2}", true],
    ["1.42", "\\sqrt{2}", false],
    ["2.72", "e", true],
    ["2.71", "e", false],
    // two decimals: the gold's precision, for a prediction written at least as finely
    ["3.14", "3.1416", true],
    ["3.14", "3.145", true], // exactly half a unit away: accepted (the boundary is inclusive)
    ["3.14", "3.1451", false],
    ["0.333", "0.3", false], // a coarser prediction
    ["0.333", "0.33", false],
    // a one-digit decimal is read as exact
    ["0.5", "0.54", false],
    ["0.3", "\\frac{1}{3}", false],
    ["0.5", "\\frac{1}{2}", true],
    // an exact side with a finite decimal expansion compares exactly
    ["0.33", "\\frac{1}{4}", false],
    ["1.000001", "1", false],
    ["1", "1.0000001", false],
    ["2.50", "\\frac{5}{2}", true],
    // a decimal prediction against an exact gold: relative tolerance (1e-6), never its own precision
    ["\\frac{1}{3}", "0.333", false],
    ["\\frac{1}{3}", "0.3333333", true],
    ["\\frac{22}{7}", "3.14", false],
    ["\\pi", "3.14", false],
    ["\\pi", "3.1415927", true],
    // scientific notation: the mantissa's precision times the power
    ["1.5 \\times 10^{3}", "\\frac{4505}{3}", true], // 1501.67, within 50
    ["1.5 \\times 10^{3}", "\\frac{4651}{3}", false], // 1550.33
    ["1.50 \\times 10^{-7}", "\\frac{1}{6666667}", true],
  ];
  it.each(cases)("%s vs %s → %s", (gold, pred, expected) => {
    expect(mathEqual(gold, pred)).toBe(expected);
  });
});
