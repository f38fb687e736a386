# Remote state of dev: `terraform -chdir=deploy/terraform/platform init -backend-config=../envs/dev/backend.hcl`.
# The bucket and the lock table are created once per account outside Terraform (they cannot
# hold their own state).
bucket         = "cloudmart-terraform-state"
key            = "cloudmart/dev/terraform.tfstate"
region         = "us-east-1"
dynamodb_table = "cloudmart-terraform-locks"
encrypt        = true
