-- Headless check (run by trial.sh and tests/test_editor_trials.py): wait for the server's
-- diagnostics, ask for a hover on line 7, write both to $OUT, quit.
local out = {}
vim.wait(30000, function() return #vim.diagnostic.get(0) > 0 end, 100)
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out, string.format("DIAG %d:%d %s", d.lnum, d.col, (d.message:gsub("\n", " "))))
end
local params = vim.lsp.util.make_position_params()
params.position = { line = 6, character = 5 }
for _, r in pairs(vim.lsp.buf_request_sync(0, "textDocument/hover", params, 10000) or {}) do
  if r.result then table.insert(out, "HOVER " .. (r.result.contents.value:gsub("\n", " "))) end
end
vim.fn.writefile(out, os.getenv("OUT"))
vim.cmd("qa!")
