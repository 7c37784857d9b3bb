-- Foundation: installation settings.
CREATE TABLE app_setting (
  key        text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 128),
  value      jsonb NOT NULL,
  updated_at timestamptz(6) NOT NULL DEFAULT now()
);
