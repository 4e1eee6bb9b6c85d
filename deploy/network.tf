# Where the tasks run: private subnets of a VPC given by var.vpc_id, or of one created here.
# The tasks have no public IP and accept no inbound traffic; they reach AWS APIs on 443 through
# VPC endpoints (var.use_vpc_endpoints), a NAT gateway (var.use_nat_gateway), or both.

locals {
  create_vpc  = var.vpc_id == null
  vpc_id      = local.create_vpc ? aws_vpc.main[0].id : var.vpc_id
  vpc_cidr    = local.create_vpc ? var.vpc_cidr : data.aws_vpc.existing[0].cidr_block
  az_names    = local.create_vpc ? slice(data.aws_availability_zones.available[0].names, 0, var.availability_zone_count) : []
  create_nat  = local.create_vpc && var.use_nat_gateway
  subnet_ids  = local.create_vpc ? aws_subnet.private[*].id : var.private_subnet_ids
  route_table = local.create_vpc ? aws_route_table.private[*].id : var.private_route_table_ids
}

data "aws_vpc" "existing" {
  count = local.create_vpc ? 0 : 1
  id    = var.vpc_id

  lifecycle {
    postcondition {
      condition     = length(var.private_subnet_ids) > 0
      error_message = "With vpc_id, give private_subnet_ids (and private_route_table_ids for the S3 gateway endpoint)."
    }
  }
}

data "aws_availability_zones" "available" {
  count = local.create_vpc ? 1 : 0
  state = "available"
}

# --- the created VPC ----------------------------------------------------------------------------

resource "aws_vpc" "main" {
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints' private DNS names need both
  tags                 = { Name = local.name }
}

# The default security group of a new VPC allows all traffic between its members: take every
# rule away so that nothing can use it by accident.
resource "aws_default_security_group" "main" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = "${local.name}-default-unused" }
}

resource "aws_subnet" "private" {
  count                   = length(local.az_names)
  vpc_id                  = aws_vpc.main[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, count.index)
  availability_zone       = local.az_names[count.index]
  map_public_ip_on_launch = false
  tags                    = { Name = "${local.name}-private-${local.az_names[count.index]}" }
}

resource "aws_route_table" "private" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = "${local.name}-private" }
}

resource "aws_route_table_association" "private" {
  count          = length(aws_subnet.private)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

# One NAT gateway (not one per AZ): the worker is a queue consumer, an AZ outage delays work
# but loses none, and each extra NAT gateway costs about $33 a month.
resource "aws_subnet" "public" {
  count                   = local.create_nat ? 1 : 0
  vpc_id                  = aws_vpc.main[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 4, 15)
  availability_zone       = local.az_names[0]
  map_public_ip_on_launch = false
  tags                    = { Name = "${local.name}-public-nat" }
}

resource "aws_internet_gateway" "main" {
  count  = local.create_nat ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = local.name }
}

resource "aws_eip" "nat" {
  #checkov:skip=CKV2_AWS_19:The address belongs to the NAT gateway, not to an EC2 instance
  count  = local.create_nat ? 1 : 0
  domain = "vpc"
  tags   = { Name = "${local.name}-nat" }
}

resource "aws_nat_gateway" "main" {
  count         = local.create_nat ? 1 : 0
  allocation_id = aws_eip.nat[0].id
  subnet_id     = aws_subnet.public[0].id
  tags          = { Name = local.name }
  depends_on    = [aws_internet_gateway.main]
}

resource "aws_route_table" "public" {
  count  = local.create_nat ? 1 : 0
  vpc_id = aws_vpc.main[0].id
  tags   = { Name = "${local.name}-public" }
}

resource "aws_route" "public_internet" {
  count                  = local.create_nat ? 1 : 0
  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.main[0].id
}

resource "aws_route_table_association" "public" {
  count          = local.create_nat ? 1 : 0
  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}

resource "aws_route" "private_nat" {
  count                  = local.create_nat ? 1 : 0
  route_table_id         = aws_route_table.private[0].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.main[0].id
}

# Rejected connections only: what a security review needs, at a fraction of the log volume.
resource "aws_flow_log" "main" {
  count                = local.create_vpc && var.enable_flow_logs ? 1 : 0
  vpc_id               = aws_vpc.main[0].id
  traffic_type         = "REJECT"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn         = aws_iam_role.flow_logs[0].arn
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  count             = local.create_vpc && var.enable_flow_logs ? 1 : 0
  name              = "/vpc/${local.name}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

# --- security groups --------------------------------------------------------------------------

resource "aws_security_group" "tasks" {
  name        = "${local.name}-worker"
  description = "Worker tasks: no inbound; HTTPS out to AWS APIs only"
  vpc_id      = local.vpc_id
  tags        = { Name = "${local.name}-worker" }
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_endpoints" {
  count             = var.use_vpc_endpoints ? 1 : 0
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to the interface VPC endpoints"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = local.vpc_cidr
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_s3" {
  count             = var.use_vpc_endpoints ? 1 : 0
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to S3 through the gateway endpoint (data and ECR image layers)"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  prefix_list_id    = aws_vpc_endpoint.s3[0].prefix_list_id
}

resource "aws_vpc_security_group_egress_rule" "tasks_to_internet" {
  count             = var.use_nat_gateway ? 1 : 0
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to public AWS endpoints through the NAT gateway"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "endpoints" {
  count       = var.use_vpc_endpoints ? 1 : 0
  name        = "${local.name}-endpoints"
  description = "Interface VPC endpoints: HTTPS from the worker tasks only"
  vpc_id      = local.vpc_id
  tags        = { Name = "${local.name}-endpoints" }
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_tasks" {
  count                        = var.use_vpc_endpoints ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the worker tasks"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.tasks.id
}

# --- VPC endpoints --------------------------------------------------------------------------

# The gateway endpoint for S3 is free; ECR image layers come from S3 too.
resource "aws_vpc_endpoint" "s3" {
  count             = var.use_vpc_endpoints ? 1 : 0
  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.route_table
  tags              = { Name = "${local.name}-s3" }
}

# One per API the task calls: SQS, CloudWatch Logs (awslogs driver), ECR (image pulls),
# SageMaker control plane and runtime, CloudWatch (metrics), STS, and ECS (the agent's task
# protection calls). Each costs about $7.30 a month per AZ plus $0.01 per GB.
resource "aws_vpc_endpoint" "interface" {
  for_each            = var.use_vpc_endpoints ? toset(var.interface_endpoints) : toset([])
  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${local.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = local.subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  tags                = { Name = "${local.name}-${each.key}" }
}
