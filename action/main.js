'use strict';
// The Action's main step: get the binary, write the profile (secrets only by
// environment), connect in the background, publish outputs and a summary.
const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { spawnSync } = require('child_process');
const core = require('./lib');

const ARCH = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386' };

class ConfigError extends Error {}

function tomlString(s) {
  return JSON.stringify(String(s)); // a TOML basic string accepts JSON's escapes
}

// privileged runs l2tpvpn as root: directly, or through passwordless sudo
// keeping only our own variables (secrets never go on the command line).
function privileged(bin, mode) {
  if (mode === 'proxy' || process.getuid() === 0) return [bin];
  return ['sudo', '-n', '--preserve-env=L2TPVPN_ACTION_PASSWORD,L2TPVPN_ACTION_PSK,RUNNER_TEMP', bin];
}

function pickMode(requested) {
  if (requested === 'tun' || requested === 'proxy') return requested;
  if (requested && requested !== 'auto') throw new ConfigError(`mode: "${requested}" is not tun, proxy or auto`);
  try {
    fs.accessSync('/dev/net/tun', fs.constants.R_OK | fs.constants.W_OK);
  } catch {
    if (process.getuid() !== 0 && spawnSync('sudo', ['-n', 'true']).status !== 0) return 'proxy';
  }
  if (process.getuid() === 0 || spawnSync('sudo', ['-n', 'true']).status === 0) return 'tun';
  return 'proxy';
}

async function download(version, dir) {
  const arch = ARCH[process.arch];
  if (!arch) throw new ConfigError(`no l2tpvpn release for ${process.arch}`);
  const base = core.input('download-url') || `https://github.com/l2tpvpn/l2tpvpn/releases/download/${version}`;
  const file = `l2tpvpn-linux-${arch}`;
  const get = async (name) => {
    const r = await fetch(`${base}/${name}`);
    if (!r.ok) throw new Error(`downloading ${base}/${name}: HTTP ${r.status}`);
    return Buffer.from(await r.arrayBuffer());
  };
  const body = await get(file);
  let want = core.input('sha256');
  if (!want) {
    const sums = (await get('SHA256SUMS')).toString();
    const line = sums.split('\n').find((l) => l.trim().endsWith(' ' + file));
    if (!line) throw new Error(`SHA256SUMS of ${version} has no ${file}`);
    want = line.split(/\s+/)[0];
  }
  const got = crypto.createHash('sha256').update(body).digest('hex');
  if (got !== want.toLowerCase()) throw new Error(`${file}: SHA-256 ${got}, want ${want}`);
  const out = path.join(dir, 'l2tpvpn');
  fs.writeFileSync(out, body, { mode: 0o755 });
  return out;
}

// build compiles the binary from the action's own checkout (uses: ./).
function build(dir) {
  const src = process.env.GITHUB_ACTION_PATH || path.resolve(__dirname, '..');
  if (!fs.existsSync(path.join(src, 'go.mod')) || !fs.existsSync(path.join(src, 'cmd', 'l2tpvpn'))) {
    throw new ConfigError(`no version given and ${src} is not an l2tpvpn checkout: set the version input`);
  }
  const out = path.join(dir, 'l2tpvpn');
  const r = spawnSync('go', ['build', '-trimpath', '-o', out, './cmd/l2tpvpn'], {
    cwd: src, env: { ...process.env, CGO_ENABLED: '0' }, encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`go build failed: ${r.error || ''}${r.stderr}`);
  return out;
}

function profileText(password, psk) {
  const text = core.input('profile');
  if (text) return text;
  const server = core.input('server');
  const user = core.input('username');
  if (!server || !user || !password) {
    throw new ConfigError('give either the profile input, or server, username and password');
  }
  let p = `server = ${tomlString(server)}\nuser = ${tomlString(user)}\npassword = "env:L2TPVPN_ACTION_PASSWORD"\n`;
  p += psk ? 'psk = "env:L2TPVPN_ACTION_PSK"\n' : 'ipsec = "off"\n';
  return p;
}

function summaryTable(st, events, mode) {
  const p1 = events.filter((e) => e.event === 'ike.phase1.up').pop() || {};
  const tun = events.filter((e) => e.event === 'l2tp.tunnel.up').pop() || {};
  const up = events.filter((e) => e.event === 'up').pop() || {};
  const vendor = st.peer_vendor || tun.peer_vendor;
  const host = st.peer_host || tun.peer_host;
  const firmware = st.peer_firmware || tun.peer_firmware;
  const family = [vendor && `L2TP vendor "${vendor}"`, host && `host "${host}"`, firmware && `firmware ${firmware}`,
    (p1.vendor_ids || []).length && `IKE vendor IDs: ${p1.vendor_ids.join(', ')}`]
    .filter(Boolean).join('; ');
  const rows = [
    ['server', st.server], ['server family', family], ['IKE', st.ike], ['ESP', st.esp && `${st.esp} (${st.esp_mode})`],
    ['PPP auth', st.auth], ['address', st.ip], ['interface', mode === 'tun' && st.interface], ['proxy', st.proxy], ['DNS', (st.dns || []).join(' ')],
    ['routing', st.routing], ['connect time', up.elapsed_ms !== undefined && `${up.elapsed_ms} ms`],
  ].filter(([, v]) => v);
  return `### l2tpvpn: connected\n\n| | |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${String(v).replace(/\|/g, '\\|')} |`).join('\n')}\n`;
}

function parseEvents(out) {
  return String(out || '').split('\n').map((l) => { try { return JSON.parse(l); } catch { return null; } }).filter(Boolean);
}

async function main() {
  const password = core.input('password');
  const psk = core.input('psk');
  core.mask(password);
  core.mask(psk);
  const text = profileText(password, psk);
  for (const m of text.matchAll(/^\s*(password|psk|l2tp-secret|otp|proxy-password)\s*=\s*"([^"]*)"/gm)) {
    if (!/^(env:|file:|prompt$)/.test(m[2])) core.mask(m[2]);
  }
  const name = core.input('name') || 'gha';
  core.saveState('name', name);
  const dir = fs.mkdtempSync(path.join(process.env.RUNNER_TEMP || os.tmpdir(), 'l2tpvpn-'));
  core.saveState('dir', dir);
  const version = core.input('version');
  const bin = version ? await download(version, dir) : build(dir);
  const mode = pickMode(core.input('mode'));
  core.saveState('bin', bin);
  core.saveState('mode', mode);
  const profile = path.join(dir, `${name}.toml`);
  fs.writeFileSync(profile, text, { mode: 0o600 });

  const args = ['connect', profile, '--background', '--json', '--name', name];
  if (mode === 'proxy') args.push('--mode', 'proxy');
  for (const r of core.list('routes')) args.push('--route', r);
  for (const c of core.list('ready-check')) args.push('--ready-check', c);
  const argv = privileged(bin, mode).concat(args);
  const timeout = Number(core.input('timeout') || '90') * 1000;
  const env = { ...process.env, L2TPVPN_ACTION_PASSWORD: password, L2TPVPN_ACTION_PSK: psk };
  if (mode === 'proxy' && process.getuid() !== 0 && !process.env.XDG_RUNTIME_DIR && !process.env.L2TPVPN_STATE_DIR) {
    // A container job's user often has no runtime directory: keep the
    // connection's state with our other files.
    env.L2TPVPN_STATE_DIR = path.join(dir, 'state');
    fs.mkdirSync(env.L2TPVPN_STATE_DIR, { mode: 0o700 });
    core.saveState('statedir', env.L2TPVPN_STATE_DIR);
  }
  for (const k of Object.keys(env)) if (k.startsWith('INPUT_')) delete env[k]; // the inputs hold the secrets too
  const r = spawnSync(argv[0], argv.slice(1), { env, encoding: 'utf8', timeout });
  const events = parseEvents(r.stdout);
  if (r.status !== 0) {
    const down = events.filter((e) => e.event === 'down').pop() || {};
    const err = down.error || (r.error ? String(r.error) : (r.stderr || '').trim()) || `exit ${r.status}`;
    const phase = (err.match(/^([a-z0-9 -]+):/) || [])[1] || 'connect';
    core.command('error', { title: `l2tpvpn: ${phase} failed` },
      `${err}${down.hint ? ` — ${down.hint}` : ''} (exit ${r.status === null ? 'timeout' : r.status}, reason ${down.reason || 'unknown'})`);
    console.log('last events:');
    for (const e of events.slice(-8)) console.log(JSON.stringify(e));
    if (process.env.GITHUB_STEP_SUMMARY) core.summary(`### l2tpvpn: connect failed\n\n${phase}: ${err}\n\n${down.hint || ''}\n`);
    process.exitCode = 1;
    return;
  }
  const s = spawnSync(argv[0], privileged(bin, mode).slice(1).concat(['status', name, '--json']), { env, encoding: 'utf8' });
  let st = {};
  try { st = JSON.parse(s.stdout); } catch { /* reported below */ }
  core.setOutput('interface', mode === 'tun' ? st.interface || '' : '');
  core.setOutput('ip', st.ip || '');
  core.setOutput('dns', (st.dns || []).join(' '));
  core.setOutput('proxy', st.proxy || '');
  core.setOutput('status-json', JSON.stringify(st));
  if (process.env.GITHUB_STEP_SUMMARY) core.summary(summaryTable(st, events, mode));
  console.log(`l2tpvpn: connected: ${st.ip} via ${st.interface || st.proxy || mode}`);
}

main().catch((e) => {
  core.command('error', { title: e instanceof ConfigError ? 'l2tpvpn: configuration' : 'l2tpvpn: failed' }, e.message);
  process.exitCode = 1;
});
