// A real OpenID provider for the tests: the certified `oidc-provider` package (installed
// by scripts/setup.sh into .tools), on loopback, with its built-in login and consent
// pages (devInteractions) and one confidential test client that must use PKCE.
//
//   node devtools/oidc/provider.mjs PORT
//
// Accounts: any login name is an account whose `sub` is that name and whose email is
// <name>@example.com, verified unless the name starts with "unverified"; the password
// field is not checked. Every test can so log in as a subject of its own.
// The client's redirect URIs are loopback ones registered without a port, which a
// native client may then use on any port (RFC 8252, 7.3): the app under test takes
// whatever free port it gets.
import { generateKeyPairSync } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { default: Provider } = await import(
  path.join(root, '.tools/node_modules/oidc-provider/lib/index.js')
);

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node devtools/oidc/provider.mjs PORT');
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;

const CLIENT_ID = 'full-stack-reflex';
const CLIENT_SECRET = 'test-client-secret';
const CALLBACK_PATH = '/api/v1/login/oidc/test/callback';

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };

const configuration = {
  clients: [
    {
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      application_type: 'native',
      redirect_uris: [`http://127.0.0.1${CALLBACK_PATH}`, `http://localhost${CALLBACK_PATH}`],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: ['test-only-cookie-key'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  features: { devInteractions: { enabled: true } },
  pkce: { required: () => true },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return {
          sub: id,
          email: `${id}@example.com`,
          email_verified: !id.startsWith('unverified'),
          name: `Test ${id}`,
        };
      },
    };
  },
};

const provider = new Provider(issuer, configuration);
provider.on('server_error', (_ctx, error) => console.error('server_error', error));
provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
