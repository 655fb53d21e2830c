// A certified OpenID provider (panva/oidc-provider) for wrs-oauth's interop
// tests (tests/interop/main.rs). Not a mock: the protocol behaviour is the
// library's own; this file only registers two clients and turns features on.
//
//   node tests/interop/server.mjs [PORT]     # PORT or $OIDC_PORT; 0 = ephemeral
//
// Listens on 127.0.0.1 over plain HTTP (wrs-oauth allows http on loopback).
// When listening it prints exactly one line to stdout,
//   OIDC_READY {"issuer":"http://127.0.0.1:PORT"}
// and nothing else ever goes to stdout (logs go to stderr). It exits when
// stdin closes, so a test that dies without cleaning up leaves no server.

import http from 'node:http';

import Provider from 'oidc-provider';

// The one account; the scripted user agent logs in with this id (any password).
const ACCOUNT_ID = 'engineer';
// The device flow's polling interval advertised to clients (RFC 8628 3.2);
// oidc-provider sends none, which means 5 s, too slow for a test.
const DEVICE_INTERVAL = 1;

const port = Number(process.argv[2] ?? process.env.OIDC_PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`server.mjs: bad port ${process.argv[2] ?? process.env.OIDC_PORT}`);
  process.exit(2);
}

// The issuer carries the port, so bind first and build the provider after.
const server = http.createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, configuration());
  provider.use(advertiseDeviceInterval);
  // Errors the provider turns into OAuth answers are logged for the test's
  // failure message (stderr is kept in a file by the harness).
  provider.on('server_error', (_ctx, err) => console.error('server_error:', err));
  provider.on('grant.error', (_ctx, err) => console.error('grant.error:', err.message, err.error_description ?? ''));
  server.on('request', provider.callback());
  process.stdout.write(`OIDC_READY ${JSON.stringify({ issuer })}\n`);
});

// The parent's end of stdin is our lifeline.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
process.on('SIGTERM', () => process.exit(0));

function configuration() {
  return {
    clients: [
      {
        // wrs-token's own client: public, PKCE, loopback redirect. With
        // application_type "native", oidc-provider matches a loopback
        // redirect_uri with any port against the registered one without a
        // port (RFC 8252 7.3), so the ephemeral LoopbackListener works.
        client_id: 'wrs-cli',
        client_name: 'wrs-token',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: [
          'authorization_code',
          'refresh_token',
          'urn:ietf:params:oauth:grant-type:device_code',
        ],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
      {
        // A CI service account: client credentials, client_secret_basic
        // (PingFederate's default method).
        client_id: 'wrs-ci',
        client_secret: 'ci-secret: with spaces & symbols/+=',
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        scope: 'wrs:read',
      },
    ],
    // The code flow only: no implicit or hybrid responses.
    responseTypes: ['code'],
    scopes: ['openid', 'offline_access', 'wrs:read'],
    claims: { openid: ['sub'], profile: ['name'] },
    async findAccount(_ctx, sub) {
      if (sub !== ACCOUNT_ID) return undefined;
      return { accountId: sub, claims: async () => ({ sub, name: 'A. Engineer' }) };
    },
    features: {
      // The development login and consent pages (plain HTML forms), which
      // the tests' scripted user agent submits. Never in production.
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      deviceFlow: { enabled: true },
      revocation: { enabled: true },
      introspection: {
        enabled: true,
        // A public client may introspect its own tokens only (the default,
        // spelled out).
        allowedPolicy: async (ctx, client, token) => client.clientAuthMethod !== 'none' || token.clientId === client.clientId,
      },
    },
    // PKCE for every client; oidc-provider 9 knows only S256.
    pkce: { required: () => true },
    // Refresh tokens only with offline_access, as OpenID Connect has it (the
    // library's default, spelled out). oidc-provider drops offline_access
    // from an authorization request unless it also says prompt=consent, so
    // the code flow must send that; the device flow has no prompt.
    async issueRefreshToken(_ctx, client, code) {
      return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
    },
    // Every refresh answers with a new refresh token and consumes the old
    // one; presenting a consumed one revokes the whole grant.
    rotateRefreshToken: true,
    ttl: {
      AccessToken: 60,
      AuthorizationCode: 60,
      ClientCredentials: 60,
      DeviceCode: 120,
      IdToken: 60,
      Interaction: 300,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
    },
    // Fixed keys so the cookies are signed and the library does not warn.
    cookies: { keys: ['wrs-interop-cookie-key'] },
  };
}

// Adds `interval` to the device authorization response.
async function advertiseDeviceInterval(ctx, next) {
  await next();
  const body = ctx.body;
  if (ctx.status === 200 && body && typeof body === 'object' && 'device_code' in body) {
    body.interval = DEVICE_INTERVAL;
  }
}
