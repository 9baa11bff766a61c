// The embedded run's OpenID provider: panva's certified `oidc-provider` configured for the platform.
//
// It stands where NHS CIS2 Authentication stands in production: authorization code + PKCE for the web
// console, client credentials for the services calling each other, JWT access tokens for one API
// audience, RP-initiated logout. Users are the dev personas of personas.json, picked on a sign-in page;
// their role comes back shaped as CIS2 returns it (nhsid_nrbac_roles + selected_roleid).
//
// Everything deployment-specific comes from the JSON file named by OIDC_CONFIG (written by
// embedded_stack.oidc): issuer, port, signing keys, cookie keys, clients, resources.

import { readFileSync } from 'node:fs';
import http from 'node:http';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.env.OIDC_CONFIG, 'utf8'));
const personas = JSON.parse(readFileSync(config.personas_file, 'utf8')).personas;
const personaById = new Map(personas.map((p) => [p.id, p]));
const serviceClients = config.service_clients; // client_id -> {org, role_code}

const escape = (value) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// The role as CIS2 gives it: every role the person holds, and which one they chose for this session.
function rbacClaims(roleId, org, roleCode, roleName) {
  return {
    nhsid_nrbac_roles: [{ person_roleid: roleId, org_code: org, role_code: roleCode, role_name: roleName }],
    selected_roleid: roleId,
  };
}

function personaClaims(persona) {
  return rbacClaims(`${persona.id}-role`, persona.org, persona.role_code, persona.title);
}

function page(title, body) {
  // Plain, accessible HTML: this page is part of the dev stack, not of the product.
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} - Casework dev sign-in</title>
<style>
body { font-family: Arial, sans-serif; margin: 0; color: #212b32; background: #f0f4f5; }
header { background: #005eb8; color: #fff; padding: 16px 24px; font-size: 1.2rem; font-weight: bold; }
main { max-width: 960px; margin: 0 auto; padding: 24px; }
h1 { font-size: 2rem; }
.note { background: #fff; border-left: 8px solid #005eb8; padding: 12px 16px; }
ul.personas { list-style: none; padding: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(280px, 1fr)); gap: 12px; }
ul.personas li { background: #fff; padding: 12px 16px; border: 1px solid #d8dde0; }
button { background: #007f3b; color: #fff; border: 0; box-shadow: 0 4px 0 #00401e; padding: 10px 16px; font-size: 1rem; cursor: pointer; }
button.secondary { background: #fff; color: #005eb8; border: 2px solid #005eb8; box-shadow: none; }
button:focus { outline: 4px solid #ffeb3b; box-shadow: 0 4px 0 #212b32; }
.org { color: #4c6272; }
</style>
</head>
<body>
<header>Casework platform: development sign-in</header>
<main id="maincontent">
<h1>${escape(title)}</h1>
${body}
</main>
</body>
</html>`;
}

function personaPicker(uid) {
  const items = personas
    .map(
      (p) => `<li>
<form method="post" action="/interaction/${escape(uid)}/login">
<input type="hidden" name="persona" value="${escape(p.id)}">
<p><strong>${escape(p.name)}</strong><br>${escape(p.title)}<br><span class="org">${escape(p.org_name)} (${escape(p.org)})</span></p>
<button type="submit" aria-label="Sign in as ${escape(p.name)}, ${escape(p.title)}, ${escape(p.org)}">Sign in as ${escape(p.name)}</button>
</form>
</li>`,
    )
    .join('\n');
  return page(
    'Choose who to sign in as',
    `<p class="note">This provider runs only in the embedded development stack. In production the console signs in
through NHS CIS2 Authentication.</p>
<ul class="personas">${items}</ul>`,
  );
}

const provider = new Provider(config.issuer, {
  clients: config.clients,
  jwks: JSON.parse(readFileSync(config.jwks_file, 'utf8')),
  cookies: { keys: config.cookie_keys },
  pkce: { required: () => true },
  // The console reads who signed in (and their CIS2 role) from the ID token.
  conformIdTokenClaims: false,
  scopes: ['openid', 'profile', 'email', 'nationalrbacaccess', 'selectedrole', 'offline_access'],
  claims: {
    profile: ['name', 'given_name', 'family_name'],
    email: ['email'],
    nationalrbacaccess: ['nhsid_nrbac_roles'],
    selectedrole: ['selected_roleid'],
  },
  // The console (confidential, server-side) always gets a refresh token, so a session outlives one access token.
  async issueRefreshToken(_ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  ttl: {
    AccessToken: config.access_token_ttl_s,
    ClientCredentials: config.access_token_ttl_s,
    IdToken: 3600,
    RefreshToken: 12 * 3600,
    Session: 12 * 3600,
    Grant: 12 * 3600,
    Interaction: 3600,
  },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    revocation: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page(
          'Sign out',
          `${form}<p>Sign out of the development provider too?</p>
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button class="secondary" type="submit" form="op.logoutForm">No, stay signed in</button>`,
        );
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('You are signed out', '<p>You can close this window.</p>');
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => config.default_resource,
      useGrantedResource: async () => true,
      async getResourceServerInfo(_ctx, resource) {
        const server = config.resources[resource];
        if (!server) throw new errors.InvalidTarget();
        return {
          scope: server.scope,
          audience: resource,
          accessTokenTTL: config.access_token_ttl_s,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  async findAccount(_ctx, id) {
    const persona = personaById.get(id);
    if (!persona) return undefined;
    return {
      accountId: id,
      async claims() {
        const [given, ...family] = persona.name.replace(/^Dr /, '').split(' ');
        return {
          sub: id,
          name: persona.name,
          given_name: given,
          family_name: family.join(' '),
          email: persona.email,
          ...personaClaims(persona),
        };
      },
    };
  },
  // The services read org and role from the access token, so it carries the RBAC claims as well.
  async extraTokenClaims(_ctx, token) {
    if (token.accountId) {
      const persona = personaById.get(token.accountId);
      return persona ? personaClaims(persona) : undefined;
    }
    const service = serviceClients[token.clientId];
    return service ? rbacClaims(`${token.clientId}-role`, service.org, service.role_code, 'Platform service') : undefined;
  },
  // The console is first-party: its scopes and the API resource are granted without a consent page.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email nationalrbacaccess selectedrole offline_access');
    grant.addResourceScope(config.default_resource, config.resources[config.default_resource].scope);
    await grant.save();
    return grant;
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Sign-in problem', `<p>${escape(out.error)}: ${escape(out.error_description || '')}</p>`);
  },
});

// What went wrong, in the provider's log (the browser sees only the error code and description).
for (const event of ['server_error', 'authorization.error', 'grant.error', 'end_session.error', 'userinfo.error']) {
  provider.on(event, (_ctx, error) => {
    const cause = error.cause ? String(error.cause.message || error.cause) : undefined;
    process.stdout.write(`${JSON.stringify({ event, error: error.message, detail: error.error_description, cause })}\n`);
  });
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(req, res, uid, action) {
  res.setHeader('Cache-Control', 'no-store');
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new errors.SessionNotFound('interaction mismatch');
  if (action === 'login' && req.method === 'POST') {
    const persona = personaById.get((await readForm(req)).get('persona'));
    if (!persona) {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(page('Unknown persona', '<p>Go back and choose one of the listed people.</p>'));
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: persona.id } }, { mergeWithLastSubmission: false });
    return;
  }
  res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(personaPicker(uid));
}

const callback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login))?$/;

const server = http.createServer(async (req, res) => {
  const match = INTERACTION.exec(new URL(req.url, config.issuer).pathname);
  if (!match) {
    callback(req, res);
    return;
  }
  try {
    await interaction(req, res, match[1], match[2]);
  } catch (error) {
    res.writeHead(error.statusCode || 400, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(page('Sign-in problem', `<p>${escape(error.message)}. Start again from the console.</p>`));
  }
});

server.listen(config.port, config.host, () => {
  process.stdout.write(`${JSON.stringify({ event: 'oidc provider listening', issuer: config.issuer })}\n`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
