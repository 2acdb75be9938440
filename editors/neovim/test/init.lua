-- The Neovim session against the real `orrery lsp`:
--   ORRERY_BIN=target/debug/orrery nvim --headless -u editors/neovim/test/init.lua
-- Loads the plugin from this folder, opens the session's config (editors/test/session.json),
-- runs each step in `features` and exits 0 only if every assertion held.
local here = debug.getinfo(1, 'S').source:sub(2)
local plugin = vim.fn.fnamemodify(here, ':p:h:h')
local editors = vim.fn.fnamemodify(plugin, ':h')

vim.opt.runtimepath:prepend(plugin)
vim.opt.swapfile = false
vim.opt.shadafile = 'NONE'
vim.cmd('filetype on')

local TIMEOUT = tonumber(os.getenv('ORRERY_EDITOR_TIMEOUT_MS') or '20000')
local session = vim.fn.json_decode(table.concat(vim.fn.readfile(editors .. '/test/session.json'), '\n'))
local project = editors .. '/test/' .. session.project
local failures = 0
local passes = 0

local function say(line)
  io.stdout:write(line .. '\n')
end

local function check(ok, what, detail)
  if ok then
    passes = passes + 1
    say('ok   ' .. what)
  else
    failures = failures + 1
    say('FAIL ' .. what .. (detail and ('\n     ' .. detail) or ''))
  end
  return ok
end

local function finish()
  say(('neovim: %d passed, %d failed'):format(passes, failures))
  vim.cmd(failures == 0 and 'qall!' or 'cquit! 1')
end

--- 0-based LSP position of the first `find` on 1-based `line` (the fixture is ASCII, so bytes,
--- UTF-8 and UTF-16 agree).
local function position(step)
  local text = vim.api.nvim_buf_get_lines(0, step.line - 1, step.line, true)[1]
  local column = text:find(step.find, 1, true)
  assert(column, ('"%s" is not on line %d: %s'):format(step.find, step.line, text))
  return { line = step.line - 1, character = column - 1 }
end

local function request(bufnr, method, params)
  local answers, err = vim.lsp.buf_request_sync(bufnr, method, params, TIMEOUT)
  if answers == nil then
    return nil, err
  end
  for _, answer in pairs(answers) do
    if answer.err then
      return nil, vim.inspect(answer.err)
    end
    return answer.result
  end
  return nil, 'no client answered'
end

-- The codes the session names: other findings (a rule added later) do not count.
local watched = {}
for _, list in ipairs({ session.diagnostics, session.codeAction.diagnostics }) do
  for _, d in ipairs(list) do
    watched[d.code] = true
  end
end

local function diagnostics_of(bufnr)
  local found = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if watched[tostring(d.code)] then
      table.insert(found, ('%d:%d %s'):format(d.lnum + 1, d.col + 1, tostring(d.code)))
    end
  end
  table.sort(found)
  return found
end

local function expected_diagnostics(list)
  local wanted = {}
  for _, d in ipairs(list) do
    table.insert(wanted, ('%d:%d %s'):format(d.line, d.column, d.code))
  end
  table.sort(wanted)
  return wanted
end

--- Waits until the buffer's diagnostics are exactly `list`; reports what was there otherwise.
local function expect_diagnostics(bufnr, list, what)
  local wanted = table.concat(expected_diagnostics(list), ', ')
  vim.wait(TIMEOUT, function()
    return table.concat(diagnostics_of(bufnr), ', ') == wanted
  end, 20)
  local got = table.concat(diagnostics_of(bufnr), ', ')
  check(got == wanted, what .. ': ' .. wanted, 'got: ' .. got)
end

local function text_of(contents)
  if type(contents) == 'string' then
    return contents
  end
  if contents.value ~= nil then
    return contents.value
  end
  local parts = {}
  for _, part in ipairs(contents) do
    table.insert(parts, type(part) == 'string' and part or part.value)
  end
  return table.concat(parts, '\n')
end

local steps = {}

function steps.diagnostics(bufnr)
  expect_diagnostics(bufnr, session.diagnostics, 'diagnostics published on open')
end

function steps.hover(bufnr)
  local step = session.hover
  local result, err = request(bufnr, 'textDocument/hover', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = position(step),
  })
  local text = result and text_of(result.contents) or ''
  for _, piece in ipairs(step.contains) do
    check(text:find(piece, 1, true) ~= nil, ('hover on %s mentions %q'):format(step.find, piece), err or ('hover: ' .. text))
  end
end

function steps.definition(bufnr)
  local step = session.definition
  local result, err = request(bufnr, 'textDocument/definition', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = position(step),
  })
  if result ~= nil and result.uri == nil and result.targetUri == nil then
    result = result[1]
  end
  local target = project .. '/' .. step.file
  local uri = result and (result.targetUri or result.uri)
  local range = result and (result.targetSelectionRange or result.range)
  local ok = uri ~= nil and vim.fn.resolve(vim.uri_to_fname(uri)) == vim.fn.resolve(target)
  check(ok and range.start.line == step.target_line - 1,
    ('definition of %s is %s:%d'):format(step.find, step.file, step.target_line),
    err or vim.inspect(result))
  if ok then
    local client = require('orrery').client_for(bufnr)
    vim.lsp.util.jump_to_location(result, client.offset_encoding)
    check(vim.api.nvim_buf_get_name(0) == target and vim.api.nvim_win_get_cursor(0)[1] == step.target_line,
      'jumping opens the orb source on disk at the definition',
      vim.api.nvim_buf_get_name(0) .. ':' .. vim.api.nvim_win_get_cursor(0)[1])
    vim.cmd('buffer ' .. bufnr)
  end
end

function steps.completion(bufnr)
  local step = session.completion
  local result, err = request(bufnr, 'textDocument/completion', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = position(step),
  })
  local items = result and (result.items or result) or {}
  local labels = {}
  for _, item in ipairs(items) do
    labels[item.label] = true
  end
  for _, label in ipairs(step.labels) do
    check(labels[label] == true, ('completion at line %d offers %s'):format(step.line, label),
      err or ('offered: ' .. table.concat(vim.tbl_keys(labels), ' ')))
  end
end

--- The job names :OrreryRun completes, from the server's document symbols.
function steps.jobs(bufnr)
  local names = require('orrery').job_names(bufnr)
  local wanted = table.concat(session.jobs.names, ' ')
  check(table.concat(names, ' ') == wanted, ':OrreryRun completes the jobs ' .. wanted, 'got: ' .. table.concat(names, ' '))
end

--- Applies the server's quick fix for the error (an incremental change through the client) and
--- waits for the new diagnostics.
function steps.codeAction(bufnr)
  local step = session.codeAction
  local at = position(step)
  local client = require('orrery').client_for(bufnr)
  local result, err = request(bufnr, 'textDocument/codeAction', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    range = { start = at, ['end'] = { line = at.line, character = at.character + #step.find } },
    context = { diagnostics = vim.lsp.diagnostic.get_line_diagnostics(bufnr, at.line) },
  })
  local chosen, titles = nil, {}
  for _, action in ipairs(result or {}) do
    table.insert(titles, action.title)
    if action.title == step.title then
      chosen = action
    end
  end
  if not check(chosen ~= nil and chosen.edit ~= nil, ('a code action on line %d is %q'):format(step.line, step.title),
    err or ('offered: ' .. table.concat(titles, ' | '))) then
    return
  end
  vim.lsp.util.apply_workspace_edit(chosen.edit, client.offset_encoding)
  for line, text in pairs(step.lines) do
    local got = vim.api.nvim_buf_get_lines(bufnr, tonumber(line) - 1, tonumber(line), true)[1]
    check(got == text, ('after the fix, line %s is %q'):format(line, text), 'got: ' .. got)
  end
  expect_diagnostics(bufnr, step.diagnostics, 'diagnostics after the fix')
end

local function view_text(view)
  return table.concat(vim.api.nvim_buf_get_lines(view, 0, -1, false), '\n')
end

local compiled_view

function steps.compiledConfig(bufnr)
  vim.api.nvim_set_current_buf(bufnr)
  vim.cmd('OrreryCompiled')
  compiled_view = vim.fn.bufnr('orrery-compiled://' .. vim.api.nvim_buf_get_name(bufnr))
  check(compiled_view ~= -1 and vim.fn.bufwinnr(compiled_view) ~= -1, ':OrreryCompiled opens a split')
  if compiled_view == -1 then
    return
  end
  vim.wait(TIMEOUT, function()
    return vim.fn.getbufvar(compiled_view, 'orrery_compiled_version', -1) == vim.api.nvim_buf_get_changedtick(bufnr)
  end, 20)
  local text = view_text(compiled_view)
  for _, piece in ipairs(session.compiledConfig.contains) do
    check(text:find(piece, 1, true) ~= nil, ('the compiled view shows %q'):format(piece), text)
  end
  check(not vim.api.nvim_buf_get_option(compiled_view, 'modifiable'), 'the compiled view is read-only')
end

function steps.rename(bufnr)
  local step = session.rename
  local client = require('orrery').client_for(bufnr)
  local result, err = request(bufnr, 'textDocument/rename', {
    textDocument = vim.lsp.util.make_text_document_params(bufnr),
    position = position(step),
    newName = step.new_name,
  })
  if not check(result ~= nil, ('rename %s to %s answers an edit'):format(step.find, step.new_name), err) then
    return
  end
  vim.lsp.util.apply_workspace_edit(result, client.offset_encoding)
  for line, text in pairs(step.lines) do
    local got = vim.api.nvim_buf_get_lines(bufnr, tonumber(line) - 1, tonumber(line), true)[1]
    check(got == text, ('after rename, line %s is %q'):format(line, text), 'got: ' .. got)
  end
  if compiled_view ~= nil and step.compiled_contains ~= nil then
    vim.wait(TIMEOUT, function()
      return vim.fn.getbufvar(compiled_view, 'orrery_compiled_version', -1) == vim.api.nvim_buf_get_changedtick(bufnr)
    end, 20)
    local text = view_text(compiled_view)
    for _, piece in ipairs(step.compiled_contains) do
      check(text:find(piece, 1, true) ~= nil, ('the compiled view follows the rename: %q'):format(piece), text)
    end
  end
end

local function run()
  local binary = os.getenv('ORRERY_BIN')
  require('orrery').setup({ path = binary })
  vim.cmd('edit ' .. vim.fn.fnameescape(project .. '/' .. session.open))
  local bufnr = vim.api.nvim_get_current_buf()
  check(vim.bo.filetype == 'yaml.circleci', 'ftdetect: ' .. session.open .. ' is yaml.circleci', 'filetype: ' .. vim.bo.filetype)
  vim.wait(TIMEOUT, function()
    local client = require('orrery').client_for(bufnr)
    return client ~= nil and client.initialized
  end, 20)
  local client = require('orrery').client_for(bufnr)
  if not check(client ~= nil and client.initialized, 'orrery lsp started and initialized') then
    return
  end
  for _, feature in ipairs(session.features) do
    local ok, err = pcall(steps[feature], bufnr)
    check(ok, feature .. ' ran without a Lua error', err)
  end
end

vim.api.nvim_create_autocmd('VimEnter', {
  once = true,
  nested = true,
  callback = function()
    local ok, err = pcall(run)
    check(ok, 'session ran without a Lua error', err)
    finish()
  end,
})
