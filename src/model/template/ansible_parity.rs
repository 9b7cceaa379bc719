//! Expected strings obtained by running Ansible 12 (ansible-core 2.19.14).
