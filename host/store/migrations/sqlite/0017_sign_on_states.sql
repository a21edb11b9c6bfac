-- Schema version 17: single sign-on attempts in flight.
--
-- Signing in through a tenant's OpenID Connect provider takes two requests
-- (off to the provider, back with a code), possibly to two different
-- server processes, so what the second must check lives here, not in
-- memory. A row is found by the SHA-256 of the `state` parameter the
-- provider echoes back and is deleted by the callback that uses it (or
-- when it expires): it is good once. binding_hash is the SHA-256 of the
-- PKCE code verifier, which only the browser that started holds (in a
-- cookie), so neither a copied callback URL nor a read of this table
-- finishes someone else's sign-in. The nonce is not secret: the ID token
-- carries it back.
CREATE TABLE sign_on_states (
    state_hash    TEXT PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    binding_hash  TEXT NOT NULL,
    nonce         TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX sign_on_states_tenant ON sign_on_states (tenant_id, expires_at);
CREATE INDEX sign_on_states_expiry ON sign_on_states (expires_at);
