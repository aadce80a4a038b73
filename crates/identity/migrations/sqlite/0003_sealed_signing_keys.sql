-- Signing keys sealed at rest. `sealed` says what `private_seed` holds: 0, the 32-byte
-- Ed25519 seed in clear (every key stored before this version); 1, the seed sealed with
-- AES-256-GCM under the key-encryption key (a 12-byte random nonce, then the ciphertext
-- and its 16-byte tag; the key id is the associated data). identity seals the keys that
-- are still in clear when it next starts, in place.
ALTER TABLE signing_keys ADD COLUMN sealed BIGINT NOT NULL DEFAULT 0;
