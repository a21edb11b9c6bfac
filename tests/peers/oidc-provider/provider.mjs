// Why this file exists: the console's single sign-on tests need a real
// OpenID Connect provider. This runs npm's oidc-provider (the certified
// Node.js implementation) on a loopback port with one confidential client
// for Seatwarden, PKCE required, and its development login form (any
// password is accepted; the login names the account). Accounts are
// e-mail addresses; their groups come from the table below, so the tests
// can sign in people whom the tenant's configuration grants different
// scopes, and one whom it grants nothing.
//
// Usage: node provider.mjs   with REDIRECT_URI and CLIENT_SECRET set
// (and CLAIMS_IN_USERINFO=1 to keep claims out of the ID token).
// It listens on a free loopback port first (the issuer names the port),
// then prints "listening <issuer>" on stdout.
import http from 'node:http';
import Provider from 'oidc-provider';

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;
const groups = {
  'dana@acme.example': ['seatwarden-admins'],
  'omar@acme.example': ['asset-managers'],
  'nobody@acme.example': ['marketing'],
  // Another company on the same (multi-tenant) provider, in a group of the
  // same name: only the organisation claim tells it apart.
  'mallory@other.example': ['seatwarden-admins'],
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'seatwarden',
      client_secret: process.env.CLIENT_SECRET,
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  scopes: ['openid', 'email', 'profile', 'groups'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'org'],
    groups: ['groups'],
  },
  // Claims in the ID token itself (as Okta and Entra ID put them there),
  // or, with CLAIMS_IN_USERINFO=1, only in the userinfo answer (what the
  // specification asks of a provider that issues an access token).
  conformIdTokenClaims: process.env.CLAIMS_IN_USERINFO === '1',
  features: { devInteractions: { enabled: true } },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: id,
          email_verified: !id.startsWith('unverified'),
          name: id.split('@')[0],
          org: id.endsWith('@other.example') ? 'other' : 'acme',
          groups: groups[id] ?? [],
        };
      },
    };
  },
});
server.on('request', provider.callback());
console.log(`listening ${issuer}`);
process.on('SIGTERM', () => process.exit(0));
