//! The one integration-test binary. Each module covers one area; `support`
//! holds the helpers (the binary under test, test tools, temp repos).

mod support;

// The bundled samples are valid Ansible and Packer (checked with the real tools).
mod samples_valid;

// Ansible Vault decryption against the real ansible-vault.
mod vault;

// The loader and `migrate scan`.
mod bad_input;
mod samples_scan;
mod scan;

// `migrate plan` and `migrate apply`.
mod plan;
// The whole converter on the sample: resolve, rules, render, plan and apply.
mod convert;
// `plan` / `apply` (with --ssm) on a copy of the sample: drift, saved plans, moto.
mod sample_apply;
// `/etc/environment` into SSM parameters (rules M601, M602), pushed to moto.
mod etc_environment;
// The converter over every repository of the real-world corpus (MIGRATE_CORPUS).
mod corpus;
// SSM push and pull against a real moto_server and a fault-injecting proxy.
mod ssm;

// Rendering ImageSpecs to Dockerfiles and build contexts; hadolint on the result.
mod hadolint;
mod render;

// The rule set: generated docs, doc examples, `migrate rules`.
mod rules_docs;

// ECS on Fargate output: snapshots, AWS API models, moto ECS, check-taskdef.
mod ecs;
// The generated images built, run and compared with Ansible on a real Docker engine.
mod e2e;
