// The VS Code side of medpolicy: starts the language server (`med lsp`, on stdio) for .med
// files. Highlighting needs no code: package.json contributes the TextMate grammar.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate() {
  // `medpolicy.server.command`: the `med` executable, when it is not on PATH (e.g. a venv).
  const command = vscode.workspace.getConfiguration("medpolicy").get("server.command", "med");
  // No `transport`: the client then speaks on the process's stdio without adding `--stdio`
  // (which `med lsp` accepts as well).
  const server = { command, args: ["lsp"] };
  client = new LanguageClient("medpolicy", "medpolicy", { run: server, debug: server }, {
    documentSelector: [
      { scheme: "file", language: "med" },
      { scheme: "untitled", language: "med" },
    ],
  });
  return client.start().catch((err) => {
    vscode.window.showErrorMessage(
      `medpolicy: could not start \`${command} lsp\` (${err.message}). ` +
      "Install medpolicy (`pip install -e .` in the repository) or set medpolicy.server.command.");
  });
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
