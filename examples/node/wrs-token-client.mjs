#!/usr/bin/env node
// A reference client for the wrs-tokend socket in JSON mode, for Node.js
// (VS Code extensions, scripts). No dependencies: `node:net` and JSON.
// The contract is docs/protocol.md.
//
//   node wrs-token-client.mjs [PROFILE]     # prints an access token
//   node wrs-token-client.mjs --status      # prints the status report
//
// As a module:
//   import { WrsTokenClient } from "./wrs-token-client.mjs";
//   const client = await WrsTokenClient.connect();
//   const { access_token } = await client.getToken("plm", 60);

import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const PROTOCOL_VERSION = 3;
const MAX_LINE = 64 * 1024;

/** An error answer: `kind` is one of docs/protocol.md's error kinds. */
export class WrsTokenError extends Error {
  /** @param {{kind: string, message: string, hint?: string|null, oauth_error?: string|null}} e */
  constructor(e) {
    super(e.message);
    this.kind = e.kind;
    this.hint = e.hint ?? null;
    this.oauthError = e.oauth_error ?? null;
  }
}

/** The socket's directory or listener is not ours; nothing was sent. */
export class UntrustedSocketError extends Error {
  constructor(socketPath, problem) {
    super(`refusing to use the daemon socket ${socketPath}: ${problem}; nothing was sent`);
    this.path = socketPath;
  }
}

/**
 * Trust runs both ways (docs/protocol.md, "Where the socket is"): before
 * sending a byte, make sure the socket is our own daemon's. Under a shared
 * /tmp anyone can create wrs-token-<uid>/ first and listen in it.
 *
 * Node's standard library exposes no peer credentials (no SO_PEERCRED or
 * getpeereid on net.Socket), so the listener's uid cannot be asked. The most
 * Node can do is check the files: a directory that only we can write (owned
 * by us, not group/other-writable, not a symlink) and a socket file owned by
 * us. A socket file is owned by whoever bound it, and in such a directory
 * nobody else can put one. What this cannot see: a listener that is not the
 * socket's owner (root moving another user's socket in) and a swap between
 * this check and the connect. A plugin that can load native code should
 * check the peer's uid as the Python client does.
 */
export function checkSocketTrust(socketPath) {
  if (process.platform === "win32") return; // the daemon's pipe admits only our user
  const me = process.geteuid();
  const directory = path.dirname(socketPath);
  let dir;
  try {
    dir = fs.lstatSync(directory);
  } catch (err) {
    if (err.code === "ENOENT") return; // nobody listens; connect says so
    throw new UntrustedSocketError(socketPath, `cannot inspect its directory ${directory}: ${err.message}`);
  }
  if (dir.isSymbolicLink()) throw new UntrustedSocketError(socketPath, `its directory ${directory} is a symbolic link`);
  if (!dir.isDirectory()) throw new UntrustedSocketError(socketPath, `${directory} is not a directory`);
  if (dir.uid !== me) {
    throw new UntrustedSocketError(socketPath, `its directory ${directory} belongs to uid ${dir.uid}, not to you (uid ${me})`);
  }
  if (dir.mode & 0o022) {
    const mode = (dir.mode & 0o7777).toString(8).padStart(4, "0");
    throw new UntrustedSocketError(socketPath, `its directory ${directory} has mode ${mode}: other users may create files in it`);
  }
  let sock;
  try {
    sock = fs.lstatSync(socketPath);
  } catch (err) {
    if (err.code === "ENOENT") return;
    throw new UntrustedSocketError(socketPath, `cannot inspect it: ${err.message}`);
  }
  if (!sock.isSocket()) throw new UntrustedSocketError(socketPath, "it is not a socket");
  if (sock.uid !== me) {
    throw new UntrustedSocketError(socketPath, `it belongs to uid ${sock.uid}, not to you (uid ${me}): another user's process may listen on it`);
  }
}

/** Where the daemon listens (Linux and macOS overrides; see docs/protocol.md). */
export function defaultSocketPath() {
  if (process.env.WRS_TOKEN_SOCKET) return process.env.WRS_TOKEN_SOCKET;
  if (process.platform === "win32") return `\\\\.\\pipe\\wrs-token-${os.userInfo().username}`;
  const runtime = process.env.XDG_RUNTIME_DIR;
  if (runtime && path.isAbsolute(runtime)) return path.join(runtime, "wrs-token", "agent.sock");
  return path.join(process.env.TMPDIR || "/tmp", `wrs-token-${os.userInfo().uid}`, "agent.sock");
}

export class WrsTokenClient {
  /** @param {net.Socket} socket */
  constructor(socket) {
    this.socket = socket;
    this.buffer = "";
    /** @type {Array<{resolve: Function, reject: Function}>} */
    this.waiting = [];
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => this.#onData(chunk));
    socket.on("error", (err) => this.#failAll(err));
    socket.on("close", () => this.#failAll(new WrsTokenError({ kind: "bad_request", message: "the daemon closed the connection" })));
  }

  /** Connects to the daemon, after checking it is ours (checkSocketTrust). */
  static connect(socketPath = defaultSocketPath()) {
    return new Promise((resolve, reject) => {
      checkSocketTrust(socketPath);
      const socket = net.createConnection(socketPath);
      socket.once("connect", () => resolve(new WrsTokenClient(socket)));
      socket.once("error", reject);
    });
  }

  #onData(chunk) {
    this.buffer += chunk;
    if (this.buffer.length > MAX_LINE + 2) return this.#failAll(new Error("answer too long"));
    let newline;
    while ((newline = this.buffer.indexOf("\n")) >= 0) {
      const line = this.buffer.slice(0, newline);
      this.buffer = this.buffer.slice(newline + 1);
      const waiter = this.waiting.shift();
      if (!waiter) continue;
      const [[kind, body]] = Object.entries(JSON.parse(line));
      if (kind === "error") waiter.reject(new WrsTokenError(body));
      else waiter.resolve({ kind, body });
    }
  }

  #failAll(err) {
    for (const w of this.waiting.splice(0)) w.reject(err);
  }

  /** Sends one request; answers come back in order. */
  request(name, fields = {}) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(JSON.stringify({ version: PROTOCOL_VERSION, request: { [name]: fields } }) + "\n");
    });
  }

  /**
   * A token: {profile, access_token, token_type, expires_at, lifetime_secs,
   * min_ttl_secs, min_ttl_met, warning}. Without minTtlSecs the profile's
   * min_ttl or the daemon's default applies; a minimum longer than the
   * server's tokens allow comes back with min_ttl_met false and a warning.
   */
  async getToken(profile = null, minTtlSecs = null) {
    const fields = { profile };
    if (minTtlSecs !== null) fields.min_ttl_secs = minTtlSecs;
    const { kind, body } = await this.request("get_token", fields);
    if (kind !== "token") throw new Error(`unexpected answer ${kind}`);
    return body;
  }

  /** Call after the server answered 401 with `token`, then ask again. */
  async invalidate(profile = null, token = null) {
    return (await this.request("invalidate", { profile, token })).body;
  }

  async status() {
    return (await this.request("status")).body;
  }

  close() {
    this.socket.end();
  }
}

async function main(argv) {
  let client;
  try {
    client = await WrsTokenClient.connect();
  } catch (err) {
    if (err instanceof UntrustedSocketError) {
      console.error(`wrs-token: ${err.message}`);
      console.error("hint: if it is not yours, have its owner or root remove it; or set XDG_RUNTIME_DIR to a directory only you can write, or WRS_TOKEN_SOCKET to a socket path in one");
    } else {
      console.error(`wrs-token: daemon unreachable: ${err.message} (run \`wrs-token daemon start\`)`);
    }
    return 4;
  }
  try {
    if (argv[0] === "--status") console.log(JSON.stringify(await client.status(), null, 2));
    else console.log((await client.getToken(argv[0] ?? null)).access_token);
    return 0;
  } catch (err) {
    console.error(`wrs-token: ${err.message}${err.kind ? ` (${err.kind})` : ""}`);
    if (err.hint) console.error(`hint: ${err.hint}`);
    return err.kind === "login_required" ? 3 : 1;
  } finally {
    client.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await main(process.argv.slice(2));
}
