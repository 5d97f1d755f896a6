// node-oidc-provider configured as FAPI 2.0 partners use a token endpoint: one client
// (`bench-fapi`) authenticating with private_key_jwt (ES256 assertions, its public keys from
// JWKS_FILE), client_credentials, DPoP enabled (a proof makes the token DPoP-bound), JWT (ES256)
// access tokens via a resource indicator. Adapted from ../../../shared/perf-anchors/
// oidc-provider-server.mjs (the client_secret_basic anchor). Replay detection is the default
// adapter's: an in-memory LRU of 1,000 entries in this process.
import { readFileSync } from 'node:fs';
import { createPrivateKey } from 'node:crypto';
import Provider from 'oidc-provider';

const PORT = Number(process.env.PORT || 3000);
const ISSUER = `http://127.0.0.1:${PORT}`;
const jwk = createPrivateKey(readFileSync(process.env.ES256_PEM || 'es256.pem')).export({ format: 'jwk' });
jwk.kid = 'k1'; jwk.alg = 'ES256'; jwk.use = 'sig';
const clientJwks = JSON.parse(readFileSync(process.env.JWKS_FILE || 'client-jwks.json', 'utf8'));

const RS = {
  'urn:api:hub': { scope: 'accounts', audience: 'urn:api:hub', accessTokenTTL: 600, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'ES256' } } },
};

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: 'bench-fapi',
    grant_types: ['client_credentials'], response_types: [], redirect_uris: [],
    token_endpoint_auth_method: 'private_key_jwt', token_endpoint_auth_signing_alg: 'ES256',
    jwks: clientJwks, scope: 'accounts', id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  scopes: ['accounts'],
  enabledJWA: { clientAuthSigningAlgValues: ['ES256'], dPoPSigningAlgValues: ['ES256'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    dPoP: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (ctx, client, oneOf) => oneOf || 'urn:api:hub',
      useGrantedResource: async () => true,
      getResourceServerInfo: async (ctx, ri) => { if (!RS[ri]) throw new Provider.errors.InvalidTarget(); return RS[ri]; },
    },
  },
});
provider.on('server_error', (ctx, err) => console.error('server_error', err));
provider.listen(PORT, '127.0.0.1', () => console.error(`oidc-provider ${ISSUER} pid=${process.pid}`));
