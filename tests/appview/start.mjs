// Starts PostgreSQL and Redis (Debian's, on loopback, in DATA_DIR) and the reference
// Bluesky network of @atproto/dev-env on them: a PLC, a PDS and the AppView
// (@atproto/bsky). Creates the bot's account and a follower's, prints one JSON
// line: {"pds", "appview", "handle", "password"}. Then reads commands from stdin:
// `like AT-URI` (the follower likes, reposts and replies to the post; the AppView
// indexes it) answered by `ok`. Stops everything on SIGTERM or when stdin closes.
//
//   node start.mjs DATA_DIR
import { spawn, execFileSync } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import readline from 'node:readline'
import { TestNetwork } from '@atproto/dev-env'

const dataDir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'appview-'))
const children = []
function stop() {
  for (const c of children) {
    try { c.kill('SIGTERM') } catch {}
  }
}
process.on('exit', stop)
process.on('SIGTERM', () => process.exit(0))
process.on('SIGINT', () => process.exit(0))

async function freePort() {
  const s = net.createServer()
  await new Promise((r) => s.listen(0, '127.0.0.1', r))
  const port = s.address().port
  await new Promise((r) => s.close(r))
  return port
}

async function waitFor(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.end(); r(true) })
      c.on('error', () => r(false))
    })
    if (ok) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`nothing listens on ${port}`)
}

// PostgreSQL refuses to run as root: as the `postgres` user then.
const pgBin = fs.readdirSync('/usr/lib/postgresql').sort().reverse().map((v) => `/usr/lib/postgresql/${v}/bin`)[0]
const asUser = {}
if (process.getuid() === 0) {
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim())
  Object.assign(asUser, { uid, gid })
}
const pgData = path.join(dataDir, 'pg')
fs.mkdirSync(pgData, { recursive: true })
if (asUser.uid !== undefined) fs.chownSync(pgData, asUser.uid, asUser.gid)
execFileSync(`${pgBin}/initdb`, ['-D', pgData, '-A', 'trust', '-U', 'postgres'], { ...asUser, cwd: pgData, stdio: ['ignore', 'ignore', 'pipe'] })
const pgPort = await freePort()
children.push(spawn(`${pgBin}/postgres`, ['-D', pgData, '-p', String(pgPort), '-k', pgData, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'], { ...asUser, stdio: 'ignore' }))
const redisPort = await freePort()
children.push(spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }))
await waitFor(pgPort)
await waitFor(redisPort)
await new Promise((r) => setTimeout(r, 500))

process.env.REDIS_HOST = `127.0.0.1:${redisPort}`
const network = await TestNetwork.create({
  dbPostgresUrl: `postgresql://postgres@127.0.0.1:${pgPort}/postgres`,
  dbPostgresSchema: 'todayis',
})
const sc = network.getSeedClient()
await sc.createAccount('bot', { handle: 'todayis.test', email: 'bot@todayis.test', password: 'bot-password' })
await sc.createAccount('reader', { handle: 'carol.test', email: 'carol@todayis.test', password: 'carol-password' })
await network.processAll()
console.log(JSON.stringify({
  pds: network.pds.url,
  appview: network.bsky.url,
  handle: 'todayis.test',
  password: 'bot-password',
}))

const lines = readline.createInterface({ input: process.stdin })
for await (const line of lines) {
  const [command, uri] = line.trim().split(/\s+/)
  if (command !== 'like') continue
  const res = await fetch(`${network.pds.url}/xrpc/com.atproto.repo.getRecord?repo=${uri.split('/')[2]}&collection=app.bsky.feed.post&rkey=${uri.split('/').pop()}`)
  const record = await res.json()
  const ref = { raw: { uri: record.uri, cid: record.cid }, uriStr: record.uri }
  await sc.like(sc.dids.reader, ref)
  await sc.repost(sc.dids.reader, ref)
  await sc.reply(sc.dids.reader, ref, ref, 'What a day that was')
  await network.processAll()
  console.log('ok')
}
await network.close()
process.exit(0)
