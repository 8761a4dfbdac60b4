// Tokenizes .med files with the engine VS Code uses (vscode-textmate + vscode-oniguruma)
// and checks the scopes the grammar gives.
//
//   node test/grammar.test.js                  every policy and stdlib file, and the fixture
//   node test/grammar.test.js --words W.json   also: every keyword / vocabulary spelling in W
//   node test/grammar.test.js --dump FILE      print each token of FILE with its scopes
//
// W.json is {"keywords": [...], "vocabulary": [...]}; tests/test_textmate.py writes it from
// the keyword table, so this script holds no copy of it. Exit status 1 on any failure.
"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const HERE = __dirname;
const ROOT = path.resolve(HERE, "..", "..", "..");
const GRAMMAR = path.resolve(HERE, "..", "syntaxes", "med.tmLanguage.json");

// [line, token text, a scope the token must carry (or a prefix of one)]
const FIXTURE_EXPECTATIONS = [
  [1, "#", "punctuation.definition.comment.med"],
  [1, "#", "comment.line.number-sign.med"],
  [1, " A fixture for the TextMate grammar: one of everything, in both languages.", "comment.line.number-sign.med"],
  [2, "policy", "keyword.other.declaration.med"],
  [2, '"绥化市医疗保险管理办法"', "string.quoted.double.med"],
  [2, "绥化", "variable.other.name.med"],
  [2, "2026-01-01", "constant.numeric.date.med"],
  [2, "to", "keyword.control.med"],
  [2, "cite", "keyword.other.declaration.med"],
  [2, '"第四十三条"', "string.quoted.double.citation.med"],
  [3, "standard", "entity.name.namespace.med"],
  [4, "avg_wage", "variable.parameter.med"],
  [6, "employee", "support.type.vocabulary.med"],
  [7, "12万", "constant.numeric.wan.med"],
  [7, "依据", "keyword.other.declaration.med"],
  [7, '"第二十一条"', "string.quoted"],
  [8, "住院", "support.type.vocabulary.med"],
  [9, "三级", "support.type.vocabulary.med"],
  [9, "起付线", "keyword.control.med"],
  [9, "900", "constant.numeric.integer.med"],
  [9, "比例", "keyword.control.med"],
  [9, "85%", "constant.numeric"],
  [9, "87.5%", "constant.numeric.percentage.med"],
  [9, '"第二十一条（一）3"', "string.quoted.double.citation.med"],
  [10, "exception", "keyword.other.declaration.med"],
  [10, "veteran-worker", "support.type.vocabulary.med"],
  [10, "none", "keyword.control.med"],
  [11, "中人一档", "variable.other.name.med"],
  [11, "+", "keyword.operator.arithmetic.med"],
  [11, "5", "constant.numeric.integer.med"],
  [11, "个百分点", "keyword.control.med"],
  [11, "not-covered", "keyword.control.med"],
  [11, "notable", "variable.other.name.med"],
  [12, "age", "support.type.vocabulary.med"],
  [12, ">=", "keyword.operator.comparison.med"],
  [12, "×", "keyword.operator.arithmetic.med"],
  [12, ",", "punctuation.separator.comma.med"],
  [12, "1.5", "constant.numeric.decimal.med"],
  [13, "【", "invalid.illegal.character.med"],
  [14, '"unterminated', "invalid.illegal.unterminated-string.med"],
];

async function loadGrammar() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve("vscode-oniguruma")), "onig.wasm")).buffer;
  const onigLib = oniguruma.loadWASM(wasm).then(() => ({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }));
  const registry = new vsctm.Registry({
    onigLib,
    loadGrammar: async (scopeName) =>
      scopeName === "source.med" ? vsctm.parseRawGrammar(fs.readFileSync(GRAMMAR, "utf8"), GRAMMAR) : null,
  });
  return registry.loadGrammar("source.med");
}

// Every line of `text` as a list of {text, scopes}, whitespace-only tokens included.
function tokenize(grammar, text) {
  let stack = vsctm.INITIAL;
  return text.replace(/\n$/, "").split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, stack);
    stack = result.ruleStack;
    return result.tokens.map((t) => ({
      text: line.substring(t.startIndex, t.endIndex),
      scopes: t.scopes,
    }));
  });
}

const hasScope = (token, scope) => token.scopes.some((s) => s === scope || s.startsWith(scope + "."));

// Tokens of one token text on a line; captures (`#` inside the comment) are their own tokens.
function find(lines, lineNo, text) {
  return (lines[lineNo - 1] || []).filter((t) => t.text === text);
}

function main() {
  const args = process.argv.slice(2);
  const failures = [];
  let passed = 0;
  const check = (ok, message) => (ok ? passed++ : failures.push(message));

  return loadGrammar().then((grammar) => {
    const dump = args.indexOf("--dump");
    if (dump >= 0) {
      const file = args[dump + 1];
      tokenize(grammar, fs.readFileSync(file, "utf8")).forEach((tokens, i) => {
        for (const t of tokens) {
          if (t.text.trim() === "") continue;
          console.log(`${i + 1}: ${JSON.stringify(t.text)}  ${t.scopes.slice(1).join(" ") || "source.med"}`);
        }
      });
      return 0;
    }

    // 1. Every real file: nothing invalid, and the tokens cover each line exactly.
    const files = ["policies", "stdlib"].flatMap((dir) =>
      fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith(".med")).sort().map((f) => path.join(dir, f)));
    check(files.length >= 2, "no .med files found in policies/ and stdlib/");
    for (const file of files) {
      const text = fs.readFileSync(path.join(ROOT, file), "utf8");
      const lines = tokenize(grammar, text);
      lines.forEach((tokens, i) => {
        for (const t of tokens) {
          check(!t.scopes.some((s) => s.startsWith("invalid.")),
            `${file}:${i + 1}: ${JSON.stringify(t.text)} is ${t.scopes.join(" ")}`);
        }
      });
      check(lines.map((ts) => ts.map((t) => t.text).join("")).join("\n") === text.replace(/\n$/, ""),
        `${file}: the tokens do not cover the text`);
    }

    // 2. The fixture's expected scopes.
    const fixture = tokenize(grammar, fs.readFileSync(path.join(HERE, "fixture.med"), "utf8"));
    for (const [lineNo, text, scope] of FIXTURE_EXPECTATIONS) {
      const tokens = find(fixture, lineNo, text);
      check(tokens.length > 0 && tokens.every((t) => hasScope(t, scope)),
        `fixture.med:${lineNo}: ${JSON.stringify(text)} should be ${scope}, got ` +
        (tokens.length ? tokens.map((t) => t.scopes.join(" ")).join(" | ") :
          `no such token in ${JSON.stringify(fixture[lineNo - 1].map((t) => t.text))}`));
    }

    // 3. Every spelling the caller lists, alone on a line.
    const words = args.indexOf("--words");
    if (words >= 0) {
      const lists = JSON.parse(fs.readFileSync(args[words + 1], "utf8"));
      const expect = [["keywords", "keyword"], ["vocabulary", "support.type.vocabulary.med"]];
      for (const [key, scope] of expect) {
        check(lists[key].length > 0, `--words: no ${key}`);
        for (const word of lists[key]) {
          const [tokens] = tokenize(grammar, word);
          check(tokens.length === 1 && hasScope(tokens[0], scope),
            `${JSON.stringify(word)} should be one ${scope} token, got ` +
            JSON.stringify(tokens.map((t) => [t.text, t.scopes.slice(1)])));
        }
      }
    }

    for (const f of failures) console.log(`not ok - ${f}`);
    console.log(`${passed} passed, ${failures.length} failed`);
    return failures.length ? 1 : 0;
  });
}

main().then((code) => process.exit(code), (err) => { console.error(err); process.exit(2); });
