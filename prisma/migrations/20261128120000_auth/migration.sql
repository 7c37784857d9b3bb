-- Who may use the exchange: principals (people or orgs), the agents they run, and API keys.
-- A key's secret is shown once at creation and never stored: the server keeps only the signing key derived
-- from it (HMAC-SHA256(secret, "ate-signing-key-v1")), encrypted with the installation's master key
-- (AES-256-GCM: 12-byte iv | 16-byte tag | 32-byte ciphertext).

CREATE TABLE principal (
  id         text PRIMARY KEY CHECK (id ~ '^prn_[a-z0-9]{8,32}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  created_at timestamptz(6) NOT NULL DEFAULT now()
);

CREATE TABLE agent (
  id           text PRIMARY KEY CHECK (id ~ '^agt_[a-z0-9]{8,32}$'),
  principal_id text REFERENCES principal (id),
  name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  created_at   timestamptz(6) NOT NULL DEFAULT now()
);
CREATE INDEX agent_principal ON agent (principal_id);

CREATE TABLE api_key (
  id           text PRIMARY KEY CHECK (id ~ '^ak_[a-z0-9]{16,32}$'),
  role         text NOT NULL CHECK (role IN ('agent', 'principal', 'admin')),
  agent_id     text REFERENCES agent (id),
  principal_id text REFERENCES principal (id),
  label        text CHECK (length(label) BETWEEN 1 AND 128),
  key_enc      bytea NOT NULL CHECK (length(key_enc) = 60),
  created_at   timestamptz(6) NOT NULL DEFAULT now(),
  revoked_at   timestamptz(6),
  -- an agent key names its agent; a principal key its principal; an admin key neither
  CONSTRAINT api_key_role_owner CHECK (
    (role = 'agent' AND agent_id IS NOT NULL AND principal_id IS NULL)
    OR (role = 'principal' AND principal_id IS NOT NULL AND agent_id IS NULL)
    OR (role = 'admin' AND agent_id IS NULL AND principal_id IS NULL))
);
CREATE INDEX api_key_agent ON api_key (agent_id);
