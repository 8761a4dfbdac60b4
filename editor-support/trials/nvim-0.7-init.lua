-- Neovim 0.7 (Debian 12): vim.lsp.start_client + buf_attach_client; vim.lsp.start arrived in 0.8.
vim.cmd([[autocmd BufRead,BufNewFile *.med setfiletype med]])  -- vim.filetype.add needs do_filetype_lua in 0.7
local client_id
vim.api.nvim_create_autocmd("FileType", {
  pattern = "med",
  callback = function(args)
    client_id = client_id or vim.lsp.start_client({
      name = "med",
      cmd = { "med", "lsp" },
      root_dir = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(args.buf), ":p:h"),
    })
    vim.lsp.buf_attach_client(args.buf, client_id)
  end,
})
