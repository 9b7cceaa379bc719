# Webshop golden AMI (HCL2 template): Debian 12 plus every webshop role.
# Run from packer/:
#   packer init .
#   packer build -var-file=production.pkrvars.hcl webshop.pkr.hcl

packer {
  required_version = ">= 1.9.0"
  required_plugins {
    amazon = {
      version = ">= 1.3.1"
      source  = "github.com/hashicorp/amazon"
    }
    ansible = {
      version = "~> 1"
      source  = "github.com/hashicorp/ansible"
    }
  }
}

variable "aws_region" {
  type    = string
  default = "eu-west-1"
}

variable "env" {
  type        = string
  default     = "staging"
  description = "Inventory to take group_vars from: staging or production."
  validation {
    condition     = contains(["staging", "production"], var.env)
    error_message = "The env must be staging or production."
  }
}

variable "instance_type" {
  type    = string
  default = "t3.small"
}

variable "app_version" {
  type    = string
  default = "1.8.2"
}

variable "vault_password_file" {
  type      = string
  default   = env("ANSIBLE_VAULT_PASSWORD_FILE")
  sensitive = true
}

variable "ami_users" {
  type        = list(string)
  default     = []
  description = "Other AWS accounts allowed to launch the AMI."
}

locals {
  timestamp      = regex_replace(timestamp(), "[- TZ:]", "")
  ami_name       = "webshop-${var.env}-${var.app_version}-${local.timestamp}"
  ansible_groups = ["webshop", "webservers", "appservers", "workers", "batch"]
  common_tags = {
    App     = "webshop"
    Env     = var.env
    Version = var.app_version
  }
}

source "amazon-ebs" "debian" {
  region                      = var.aws_region
  instance_type               = var.instance_type
  ssh_username                = "admin"
  associate_public_ip_address = true
  ami_name                    = local.ami_name
  ami_description             = "Webshop ${var.app_version} for ${var.env}"
  ami_users                   = var.ami_users

  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
      architecture        = "x86_64"
    }
    owners      = ["136693071363"]
    most_recent = true
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 16
    volume_type           = "gp3"
    delete_on_termination = true
  }

  tags     = merge(local.common_tags, { Name = "webshop-${var.env}", BaseAMI = "{{ .SourceAMI }}" })
  run_tags = { Name = "packer-webshop-${var.env}" }
}

build {
  name    = "webshop"
  sources = ["source.amazon-ebs.debian"]

  provisioner "shell" {
    environment_vars = [
      "DEBIAN_FRONTEND=noninteractive",
      "APP_ENV=${var.env}",
    ]
    execute_command = "sudo -E sh -c '{{ .Vars }} {{ .Path }}'"
    inline = [
      "cloud-init status --wait || true",
      "apt-get update -q",
      "apt-get install -y -q python3 python3-apt sudo acl",
      "echo \"$APP_ENV\" > /etc/webshop-environment",
    ]
  }

  provisioner "file" {
    source      = "${path.root}/files/motd"
    destination = "/tmp/motd"
  }

  provisioner "shell" {
    inline = ["sudo install -m 0644 -o root -g root /tmp/motd /etc/motd"]
  }

  provisioner "ansible" {
    playbook_file       = "${path.root}/../site.yml"
    user                = "admin"
    groups              = local.ansible_groups
    inventory_directory = "${path.root}/../inventories/${var.env}"
    extra_arguments = [
      "--extra-vars", "app_version=${var.app_version}",
      "--vault-password-file=${var.vault_password_file}",
      "-e", "ansible_python_interpreter=/usr/bin/python3",
    ]
    ansible_env_vars = [
      "ANSIBLE_CONFIG=${path.root}/../ansible.cfg",
      "ANSIBLE_ROLES_PATH=${path.root}/../roles:${path.root}/../vendor/roles",
      "ANSIBLE_NOCOLOR=1",
    ]
  }

  provisioner "shell" {
    script          = "${path.root}/scripts/cleanup.sh"
    execute_command = "sudo -E bash '{{ .Path }}'"
  }

  post-processor "manifest" {
    output     = "manifest-${var.env}.json"
    strip_path = true
    custom_data = {
      app_version = var.app_version
      env         = var.env
    }
  }
}
