" .med policy files (medpolicy).
autocmd BufRead,BufNewFile *.med setfiletype med
