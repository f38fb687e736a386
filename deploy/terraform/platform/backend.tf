# Remote state in S3 with a DynamoDB lock; bucket, key and table come per environment from
# envs/<env>/backend.hcl (`init -backend-config=...`): one configuration, one state per env.
terraform {
  backend "s3" {}
}
