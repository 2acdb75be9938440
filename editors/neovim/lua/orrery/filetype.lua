-- Which files are CircleCI files: the same rules as the VS Code extension's documents.ts.
local M = {}

M.filetype = 'yaml.circleci'

local function normalized(path)
  return (path:gsub('\\', '/'))
end

--- True for `.circleci/*.yml`, split configs under `.circleci/config/`, and orb sources
--- (`src/@orb.yml`, and `src/{commands,jobs,executors,examples}/*.yml` beside an `@orb.yml`).
function M.is_circleci(path)
  local p = normalized(path)
  if not (p:match('%.yml$') or p:match('%.yaml$')) then
    return false
  end
  if p:match('/%.circleci/[^/]+$') or p:match('^%.circleci/[^/]+$') then
    return true
  end
  if p:match('/%.circleci/config/.+$') or p:match('^%.circleci/config/.+$') then
    return true
  end
  if p:match('/src/@orb%.ya?ml$') or p:match('^src/@orb%.ya?ml$') then
    return true
  end
  local src = p:match('^(.*/src)/commands/[^/]+$')
    or p:match('^(.*/src)/jobs/[^/]+$')
    or p:match('^(.*/src)/executors/[^/]+$')
    or p:match('^(.*/src)/examples/[^/]+$')
  if src then
    return vim.fn.filereadable(src .. '/@orb.yml') == 1 or vim.fn.filereadable(src .. '/@orb.yaml') == 1
  end
  return false
end

function M.detect(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name ~= '' and M.is_circleci(vim.fn.fnamemodify(name, ':p')) then
    vim.api.nvim_buf_set_option(bufnr, 'filetype', M.filetype)
  end
end

return M
