-- Orrery for Neovim: starts `orrery lsp` for CircleCI files and adds :OrreryCompiled,
-- :OrreryRun, :OrreryFetchOrbs and :OrreryPinOrbs. Works on Neovim 0.7 (vim.lsp.start_client +
-- buf_attach_client) and uses vim.lsp.start where it exists (0.8+).
local filetype = require('orrery.filetype')

local M = {}

M.defaults = {
  -- The binary; nil looks for `orrery` on PATH.
  path = nil,
  -- Local orb registries (--orb-path), relative to the project root.
  orb_paths = {},
  -- Let :OrreryRun and :OrreryPinOrbs ask the orb registry (--online); the server itself never
  -- waits on the network.
  online = false,
  -- Rule levels by name or code: { ['unused-job'] = 'off', L1102 = 'error' }, sent as `rules`;
  -- they apply over the project's .orrery.toml.
  rules = {},
  -- Passed through to the client.
  on_attach = nil,
  capabilities = nil,
  -- How long the compiled view waits after the last change before asking again (ms).
  compiled_delay = 150,
}

M.config = vim.deepcopy(M.defaults)

local clients_by_root = {}

local INSTALL_HINT = 'Install it with `cargo install --locked --path crates/orrery` in an Orrery checkout, '
  .. 'or pass `path` to require("orrery").setup().'

--- The binary to run, or nil and a message saying how to install it.
function M.find_binary(path)
  if path ~= nil and path ~= '' then
    -- Absolute, since the server starts in the project root.
    local expanded = vim.fn.fnamemodify(vim.fn.expand(path), ':p')
    if vim.fn.executable(expanded) == 1 then
      return expanded
    end
    return nil, ('orrery: %s is not an executable file. %s'):format(expanded, INSTALL_HINT)
  end
  local found = vim.fn.exepath('orrery')
  if found ~= '' then
    return found
  end
  return nil, 'orrery: `orrery` was not found on PATH. ' .. INSTALL_HINT
end

--- The project a file belongs to: the folder holding `.circleci/`, else an orb's folder (the
--- parent of `src/`), else the file's own folder.
function M.root_dir(file)
  local dir = vim.fn.fnamemodify(file, ':p:h')
  while true do
    if vim.fn.fnamemodify(dir, ':t') == '.circleci' then
      return vim.fn.fnamemodify(dir, ':h')
    end
    if vim.fn.filereadable(dir .. '/src/@orb.yml') == 1 or vim.fn.filereadable(dir .. '/@orb.yml') == 1 then
      return vim.fn.filereadable(dir .. '/@orb.yml') == 1 and vim.fn.fnamemodify(dir, ':h') or dir
    end
    local parent = vim.fn.fnamemodify(dir, ':h')
    if parent == dir then
      return vim.fn.fnamemodify(file, ':p:h')
    end
    dir = parent
  end
end

--- What the server receives as initializationOptions and as the `orrery` settings section: the
--- same JSON every editor sends (docs/editors.md).
function M.server_settings(root)
  local orb_paths = {}
  for _, dir in ipairs(M.config.orb_paths) do
    local expanded = vim.fn.expand(dir)
    if expanded:sub(1, 1) ~= '/' then
      expanded = root .. '/' .. expanded
    end
    table.insert(orb_paths, expanded)
  end
  return {
    orbPaths = orb_paths,
    online = M.config.online == true,
    rules = vim.tbl_isempty(M.config.rules) and vim.empty_dict() or M.config.rules,
  }
end

function M.client_config(binary, root)
  local settings = M.server_settings(root)
  -- Orb paths go on the command line, as for every other command.
  local cmd = { binary, 'lsp' }
  for _, dir in ipairs(settings.orbPaths) do
    vim.list_extend(cmd, { '--orb-path', dir })
  end
  return {
    name = 'orrery',
    cmd = cmd,
    cmd_cwd = root,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = vim.fn.fnamemodify(root, ':t') } },
    init_options = settings,
    settings = { orrery = settings },
    on_attach = M.config.on_attach,
    capabilities = M.config.capabilities,
  }
end

--- Starts (or reuses) the server for the buffer's project and attaches the buffer to it.
function M.attach(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local binary, message = M.find_binary(M.config.path)
  if binary == nil then
    vim.notify(message, vim.log.levels.ERROR)
    return nil
  end
  local root = M.root_dir(vim.api.nvim_buf_get_name(bufnr))
  local config = M.client_config(binary, root)
  if vim.lsp.start ~= nil then
    return vim.lsp.start(config, { bufnr = bufnr })
  end
  local id = clients_by_root[root]
  if id == nil or vim.lsp.get_client_by_id(id) == nil or vim.lsp.get_client_by_id(id).is_stopped() then
    id = vim.lsp.start_client(config)
    if id == nil then
      vim.notify('orrery: could not start ' .. binary .. ' lsp', vim.log.levels.ERROR)
      return nil
    end
    clients_by_root[root] = id
  end
  vim.lsp.buf_attach_client(bufnr, id)
  return id
end

function M.client_for(bufnr)
  for _, client in pairs(vim.lsp.buf_get_clients(bufnr)) do
    if client.name == 'orrery' then
      return client
    end
  end
  return nil
end

--- The text a compiled view shows for an `orrery/compiledConfig` answer ({ yaml, errors }):
--- the compiled YAML, or how many errors keep the document from compiling.
function M.render_compiled(result)
  if type(result) == 'table' and type(result.yaml) == 'string' then
    return result.yaml
  end
  local errors = type(result) == 'table' and tonumber(result.errors) or 0
  if errors == 0 then
    return '# The config does not compile.\n'
  end
  return ('# The config does not compile: %d %s (see the diagnostics).\n'):format(errors, errors == 1 and 'error' or 'errors')
end

local function set_view_text(view, text)
  local lines = vim.split(text, '\n', { plain = true })
  if lines[#lines] == '' then
    table.remove(lines)
  end
  vim.api.nvim_buf_set_option(view, 'modifiable', true)
  vim.api.nvim_buf_set_lines(view, 0, -1, false, lines)
  vim.api.nvim_buf_set_option(view, 'modifiable', false)
  vim.api.nvim_buf_set_option(view, 'modified', false)
end

local CONTENT_MODIFIED = -32801

local function refresh_view(source, view)
  local client = M.client_for(source)
  if client == nil then
    set_view_text(view, '# The Orrery language server is not attached to this buffer.\n')
    return
  end
  local params = { textDocument = vim.lsp.util.make_text_document_params(source) }
  client.request('orrery/compiledConfig', params, function(err, result)
    if not vim.api.nvim_buf_is_valid(view) then
      return
    end
    if err ~= nil and err.code == CONTENT_MODIFIED then
      -- The document changed while the server compiled it: ask again about the new text.
      vim.defer_fn(function()
        if vim.api.nvim_buf_is_valid(view) and vim.api.nvim_buf_is_valid(source) then
          refresh_view(source, view)
        end
      end, M.config.compiled_delay)
      return
    elseif err ~= nil then
      set_view_text(view, '# The language server could not compile this config: ' .. tostring(err.message or err) .. '\n')
    else
      set_view_text(view, M.render_compiled(result))
    end
    vim.api.nvim_buf_set_var(view, 'orrery_compiled_version', vim.api.nvim_buf_get_changedtick(source))
  end, source)
end

--- :OrreryCompiled — the compiled config in a read-only split, refreshed as the source changes.
function M.show_compiled(source)
  source = source or vim.api.nvim_get_current_buf()
  local name = 'orrery-compiled://' .. vim.api.nvim_buf_get_name(source)
  local view = vim.fn.bufnr(name)
  if view == -1 then
    view = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(view, name)
    vim.api.nvim_buf_set_option(view, 'buftype', 'nofile')
    vim.api.nvim_buf_set_option(view, 'bufhidden', 'wipe')
    vim.api.nvim_buf_set_option(view, 'swapfile', false)
    vim.api.nvim_buf_set_option(view, 'filetype', 'yaml')
    vim.api.nvim_buf_set_option(view, 'modifiable', false)
    -- Every change counts (typing, LSP edits, other plugins): on_lines sees them all, where
    -- TextChanged only fires after commands the user types.
    local timer = vim.loop.new_timer()
    local closed = false
    vim.api.nvim_buf_attach(source, false, {
      on_lines = function()
        if closed then
          return true
        end
        timer:stop()
        timer:start(M.config.compiled_delay, 0, vim.schedule_wrap(function()
          if vim.api.nvim_buf_is_valid(view) and vim.api.nvim_buf_is_valid(source) then
            refresh_view(source, view)
          end
        end))
      end,
    })
    vim.api.nvim_create_autocmd('BufWipeout', {
      buffer = view,
      once = true,
      callback = function()
        closed = true
        timer:stop()
        timer:close()
      end,
    })
  end
  local current = vim.api.nvim_get_current_win()
  if vim.fn.bufwinnr(view) == -1 then
    vim.cmd('vertical belowright sbuffer ' .. view)
    vim.api.nvim_set_current_win(current)
  end
  refresh_view(source, view)
  return view
end

--- The config a project command acts on: the current buffer when it is a config directly under
--- `.circleci/`, else the project's `.circleci/config.yml`.
function M.project_config(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = M.root_dir(name)
  if name:match('/%.circleci/[^/]+%.ya?ml$') then
    return root, name
  end
  return root, root .. '/.circleci/config.yml'
end

local function store_flags(settings)
  local flags = {}
  for _, dir in ipairs(settings.orbPaths) do
    vim.list_extend(flags, { '--orb-path', dir })
  end
  if settings.online then
    table.insert(flags, '--online')
  end
  return flags
end

--- The argv of a project command: 'run' (with a job), 'fetch' or 'pin'.
function M.command_argv(binary, kind, root, config, job)
  local settings = M.server_settings(root)
  if kind == 'run' then
    return vim.list_extend({ binary, 'run', '--config', config, '--job', job }, store_flags(settings))
  elseif kind == 'fetch' then
    return { binary, 'orb', 'fetch', '--config', config }
  elseif kind == 'pin' then
    return vim.list_extend(vim.list_extend({ binary, 'orb', 'lock' }, store_flags(settings)), { config })
  end
  error('unknown command ' .. kind)
end

local function in_terminal(kind, job)
  local binary, message = M.find_binary(M.config.path)
  if binary == nil then
    vim.notify(message, vim.log.levels.ERROR)
    return
  end
  local root, config = M.project_config(vim.api.nvim_get_current_buf())
  vim.cmd('botright new')
  vim.fn.termopen(M.command_argv(binary, kind, root, config, job), { cwd = root })
  vim.cmd('startinsert')
end

--- Job names of the current config, from the server's document symbols (for completion).
function M.job_names(bufnr)
  local client = M.client_for(bufnr)
  if client == nil then
    return {}
  end
  local answer = client.request_sync('textDocument/documentSymbol', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
  }, 1000, bufnr)
  local names = {}
  for _, symbol in ipairs(answer and answer.result or {}) do
    if symbol.name == 'jobs' then
      for _, job in ipairs(symbol.children or {}) do
        table.insert(names, job.name)
      end
    end
  end
  return names
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), opts or {})
  local group = vim.api.nvim_create_augroup('orrery', { clear = true })
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = filetype.filetype,
    callback = function(args)
      M.attach(args.buf)
    end,
  })
  vim.api.nvim_create_user_command('OrreryCompiled', function()
    M.show_compiled()
  end, { desc = 'Orrery: show the compiled config in a split' })
  vim.api.nvim_create_user_command('OrreryRun', function(args)
    in_terminal('run', args.args)
  end, {
    nargs = 1,
    desc = 'Orrery: run a job locally (orrery run --job)',
    complete = function()
      return M.job_names(vim.api.nvim_get_current_buf())
    end,
  })
  vim.api.nvim_create_user_command('OrreryFetchOrbs', function()
    in_terminal('fetch')
  end, { desc = 'Orrery: download the orbs the config uses (network)' })
  vim.api.nvim_create_user_command('OrreryPinOrbs', function()
    in_terminal('pin')
  end, { desc = 'Orrery: pin the orbs in .circleci/orbs.lock' })
  -- Buffers opened before setup() ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.api.nvim_buf_get_option(bufnr, 'filetype') == filetype.filetype then
      M.attach(bufnr)
    end
  end
end

return M
