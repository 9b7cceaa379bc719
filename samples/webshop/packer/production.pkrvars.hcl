# Production bake: packer build -var-file=production.pkrvars.hcl webshop.pkr.hcl
env           = "production"
instance_type = "c6i.large"
app_version   = "1.8.2"
ami_users     = ["210987654321"]
