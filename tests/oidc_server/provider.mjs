// The OpenID provider the tests start on loopback (node provider.mjs, configured by the
// environment): the certified `oidc-provider` package, issuing client-credentials access
// tokens as signed JWTs (RFC 9068) for the service's API audience, with each system's
// groups in the token, as Entra ID or Keycloak issue them for a registered system.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const audience = process.env.API_AUDIENCE;
// [{client_id, client_secret, groups: [...]}]
const systems = JSON.parse(process.env.SYSTEMS);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: systems.map(({ client_id, client_secret }) => ({
    client_id, client_secret, grant_types: ['client_credentials'], redirect_uris: [],
    response_types: [],
  })),
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      // A token is for the resource asked for: another service's tokens name its audience.
      getResourceServerInfo: (ctx, resourceIndicator) => ({
        scope: 'api', audience: resourceIndicator, accessTokenFormat: 'jwt', accessTokenTTL: 300,
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (ctx, token) => {
    const system = systems.find((s) => s.client_id === token.clientId);
    return system ? { groups: system.groups, name: system.client_id } : undefined;
  },
});

provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
