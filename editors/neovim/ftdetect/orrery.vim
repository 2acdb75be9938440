" CircleCI configs, split configs and orb sources get the filetype yaml.circleci: YAML
" highlighting plus Orrery's language server (lua/orrery.lua).
autocmd BufRead,BufNewFile *.yml,*.yaml lua require('orrery.filetype').detect(tonumber(vim.fn.expand('<abuf>')))
