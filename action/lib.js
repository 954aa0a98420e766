'use strict';
// The runner's workflow commands and file commands, written here rather than
// taken from @actions/core: the protocol is a few lines, and without
// dependencies the action needs no install or bundling step and stays
// auditable (https://docs.github.com/actions/reference/workflow-commands-for-github-actions).
const fs = require('fs');
const crypto = require('crypto');

function input(name) {
  return (process.env['INPUT_' + name.replace(/ /g, '_').toUpperCase()] || '').trim();
}

function list(name) {
  return input(name).split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

// escapeData and escapeProperty follow the runner's command escaping.
function escapeData(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(s) {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

function command(name, props, message) {
  const p = Object.entries(props || {}).map(([k, v]) => `${k}=${escapeProperty(v)}`).join(',');
  process.stdout.write(`::${name}${p ? ' ' + p : ''}::${escapeData(message)}\n`);
}

function mask(value) {
  for (const line of String(value || '').split(/\r?\n/)) {
    if (line.trim()) command('add-mask', null, line);
  }
}

// appendFileCommand writes NAME=VALUE (heredoc form with a random
// delimiter) to one of the runner's files.
function appendFileCommand(envName, key, value) {
  const file = process.env[envName];
  if (!file) throw new Error(`${envName} is not set: not running under a GitHub runner?`);
  const delim = 'ghadelim_' + crypto.randomBytes(8).toString('hex');
  fs.appendFileSync(file, `${key}<<${delim}\n${value}\n${delim}\n`);
}

const setOutput = (k, v) => appendFileCommand('GITHUB_OUTPUT', k, v);
const saveState = (k, v) => appendFileCommand('GITHUB_STATE', k, v);
const getState = (k) => process.env['STATE_' + k] || '';
const summary = (markdown) => fs.appendFileSync(process.env.GITHUB_STEP_SUMMARY, markdown);

module.exports = { input, list, command, mask, setOutput, saveState, getState, summary };
