" Prints the syntax group of every run of text in the current buffer, one a line:
" LINE<TAB>GROUP<TAB>TEXT (GROUP is empty for text no group covers). Writes to the file
" named by $MED_VIM_OUT, or to stdout. The first line is the detected 'filetype'.
" tests/test_editor_grammars.py checks these; docs/editors.md shows how to run it.
let s:out = [&filetype]
for s:lnum in range(1, line('$'))
  let s:text = getline(s:lnum)
  let [s:col, s:tok, s:grp] = [0, '', '']
  while s:col < len(s:text)
    let s:ch = matchstr(s:text, '.', s:col)
    let s:name = synIDattr(synID(s:lnum, s:col + 1, 0), 'name')
    if s:name ==# s:grp && s:tok !=# ''
      let s:tok .= s:ch
    else
      if s:tok !=# '' | call add(s:out, s:lnum . "\t" . s:grp . "\t" . s:tok) | endif
      let [s:tok, s:grp] = [s:ch, s:name]
    endif
    let s:col += len(s:ch)
  endwhile
  if s:tok !=# '' | call add(s:out, s:lnum . "\t" . s:grp . "\t" . s:tok) | endif
endfor
call writefile(s:out, empty($MED_VIM_OUT) ? '/dev/stdout' : $MED_VIM_OUT)
