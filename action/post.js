'use strict';
// The Action's post step (always runs): disconnect, restore the host even
// after a failed connect or a killed client, remove our files.
const fs = require('fs');
const { spawnSync } = require('child_process');
const core = require('./lib');

function main() {
  const name = core.getState('name');
  const bin = core.getState('bin');
  const dir = core.getState('dir');
  if (name && bin && fs.existsSync(bin)) {
    const pre = core.getState('mode') === 'proxy' || process.getuid() === 0 ? [bin] : ['sudo', '-n', bin];
    const env = { ...process.env };
    if (core.getState('statedir')) env.L2TPVPN_STATE_DIR = core.getState('statedir');
    const run = (...args) => spawnSync(pre[0], pre.slice(1).concat(args), { encoding: 'utf8', env });
    const d = run('disconnect', name);
    process.stdout.write(d.stdout || '');
    // 12: nothing running (the connect failed): still undo what a killed
    // client may have left behind.
    const c = run('disconnect', '--cleanup', name);
    if (d.status !== 0 && d.status !== 12) {
      core.command('warning', { title: 'l2tpvpn: disconnect' }, `${(d.stderr || '').trim()} (exit ${d.status})`);
    }
    if (c.status !== 0 && c.status !== 12) {
      core.command('error', { title: 'l2tpvpn: cleanup' }, `${(c.stderr || '').trim()} (exit ${c.status})`);
      process.exitCode = 1;
    }
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

main();
