// Starts an in-memory PLC directory and the reference PDS, both on 127.0.0.1 only,
// creates an account with an app password, and prints one JSON line:
// {"url", "handle", "did", "password", "app_password"}. Stops on SIGTERM.
//
//   node start.mjs DATA_DIR
import http from 'node:http'
import os from 'node:os'
import path from 'node:path'
import fs from 'node:fs'
import { once } from 'node:events'
import { PDS, envToCfg, envToSecrets, readEnv } from '@atproto/pds'
import { PlcServer, Database as PlcDatabase } from '@did-plc/server'
import { Secp256k1Keypair } from '@atproto/crypto'

const dataDir = process.argv[2] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'pds-'))
fs.mkdirSync(dataDir, { recursive: true })

async function listen(app, port = 0) {
  // PDS.start() and PlcServer.start() listen on every interface: listen here instead.
  const server = http.createServer(app)
  server.listen(port, '127.0.0.1')
  await once(server, 'listening')
  return server
}

const plc = PlcServer.create({ db: PlcDatabase.mock() })
const plcServer = await listen(plc.app)
const plcUrl = `http://127.0.0.1:${plcServer.address().port}`

// The PDS must know its own port before it is created: reserve one.
const probe = http.createServer()
probe.listen(0, '127.0.0.1')
await once(probe, 'listening')
const port = probe.address().port
await new Promise((r) => probe.close(r))

const rotation = await Secp256k1Keypair.create({ exportable: true })
const hex = Buffer.from(await rotation.export()).toString('hex')
Object.assign(process.env, {
  PDS_HOSTNAME: 'localhost',
  PDS_PORT: String(port),
  PDS_DEV_MODE: 'true',
  PDS_INVITE_REQUIRED: 'false',
  PDS_DID_PLC_URL: plcUrl,
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blobs'),
  PDS_JWT_SECRET: 'test-jwt-secret',
  PDS_ADMIN_PASSWORD: 'test-admin-password',
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: hex,
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  PDS_RATE_LIMITS_ENABLED: 'false',
  LOG_ENABLED: 'false',
})
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.ctx.sequencer.start()
const pdsServer = await listen(pds.app, port)
const url = `http://127.0.0.1:${port}`

async function xrpc(method, body, token) {
  const res = await fetch(`${url}/xrpc/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  })
  const json = await res.json()
  if (!res.ok) throw new Error(`${method}: ${res.status} ${JSON.stringify(json)}`)
  return json
}

const handle = 'todayis.test'
const password = 'account-password-not-for-the-bot'
const account = await xrpc('com.atproto.server.createAccount', { email: 'bot@todayis.test', handle, password })
const app = await xrpc('com.atproto.server.createAppPassword', { name: 'todayis' }, account.accessJwt)
console.log(JSON.stringify({ url, handle, did: account.did, password, app_password: app.password }))

const stop = async () => {
  await pds.destroy().catch(() => {})
  pdsServer.close()
  plcServer.close()
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
