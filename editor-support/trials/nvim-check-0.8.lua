-- Headless check for Neovim 0.8+ (tests/test_editor_trials.py): the server's diagnostics,
-- a hover on line 7, the quick fix offered for the misspelt name on line 8, and the
-- references of `level3` (what a new author tries first); written to $OUT, then quit.
local out = {}
vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 100)
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, string.format("DIAG %d:%d %s", d.lnum, d.col, (d.message:gsub("\n", " "))))
end
local uri = vim.uri_from_bufnr(0)
local function ask(method, params)
  for _, r in pairs(vim.lsp.buf_request_sync(0, method, params, 10000) or {}) do
    if r.result then return r.result end
  end
end
local hover = ask("textDocument/hover", { textDocument = { uri = uri }, position = { line = 6, character = 5 } })
if hover then table.insert(out, "HOVER " .. (hover.contents.value:gsub("\n", " "))) end
local actions = ask("textDocument/codeAction", {
  textDocument = { uri = uri },
  range = { start = { line = 7, character = 4 }, ["end"] = { line = 7, character = 10 } },
  context = { diagnostics = vim.tbl_map(function(d) return d.user_data and d.user_data.lsp or d end,
                                         vim.diagnostic.get(0, { lnum = 7 })) },
}) or {}
for _, a in ipairs(actions) do table.insert(out, "ACTION " .. a.title) end
local refs = ask("textDocument/references", { textDocument = { uri = uri }, position = { line = 6, character = 5 },
                                              context = { includeDeclaration = false } }) or {}
for _, l in ipairs(refs) do
  table.insert(out, string.format("REF %s:%d:%d", vim.fn.fnamemodify(vim.uri_to_fname(l.uri), ":t"),
                                  l.range.start.line, l.range.start.character))
end
table.insert(out, "VERSION " .. tostring(vim.version()))
vim.fn.writefile(out, os.getenv("OUT"))
vim.cmd("qa!")
