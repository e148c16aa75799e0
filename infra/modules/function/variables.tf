variable "project" {
  description = "GCP project id."
  type        = string
}

variable "region" {
  description = "Region of the function (and of its Cloud Run service)."
  type        = string
}

variable "name" {
  description = "Function name, kebab-case: the Cloud Run service gets the same name, and the service account is fn-<name>."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,25}[a-z0-9]$", var.name))
    error_message = "name must be 4 to 27 characters of lower-case letters, digits and hyphens (fn-<name> is a service account id)."
  }
}

variable "entry_point" {
  description = "The Go entry point registered in functions.go (functions.HTTP or functions.CloudEvent)."
  type        = string
}

variable "description" {
  description = "What the function does, for the console."
  type        = string
  default     = ""
}

variable "source_bucket" {
  description = "Bucket of the zipped repository root."
  type        = string
}

variable "source_object" {
  description = "Object of the zipped repository root, used when the function is created (later code comes from cloudbuild.yaml)."
  type        = string
}

variable "build_service_account" {
  description = "Service account Cloud Build builds the function with, as projects/<project>/serviceAccounts/<email>."
  type        = string
}

variable "deployer_email" {
  description = "Service account of cloudbuild.yaml, which redeploys the function's code: it may act as the function's account and deploy to this function only (no access to its Cloud Run service)."
  type        = string
}

variable "public" {
  description = "Whether anyone may invoke the function (allUsers run.invoker). True only for HTTP functions that authenticate every request themselves."
  type        = bool
}

variable "trigger_topic" {
  description = "Name of the topic whose messages are pushed to this function, or null for an HTTP function. A name, known when planning, since whether the function is pushed decides which resources exist."
  type        = string
  default     = null
}

variable "push_service_account_email" {
  description = "Service account whose OIDC token the push subscription sends; it gets run.invoker on this function only."
  type        = string
  default     = null
}

variable "pubsub_service_agent_email" {
  description = "The project's Pub/Sub service agent, which must be able to acknowledge on the push subscription to dead-letter a message."
  type        = string
  default     = null
}

variable "dead_letter_topic" {
  description = "Topic id that receives messages the function failed max_delivery_attempts times."
  type        = string
  default     = null
}

variable "max_delivery_attempts" {
  description = "Deliveries of one message before it is dead-lettered (5 to 100)."
  type        = number
  default     = 10
}

variable "minimum_backoff" {
  description = "Shortest wait before a failed push is redelivered."
  type        = string
  default     = "10s"
}

variable "maximum_backoff" {
  description = "Longest wait before a failed push is redelivered (at most 600s)."
  type        = string
  default     = "600s"
}

variable "message_retention" {
  description = "How long an undelivered message is kept on the push subscription."
  type        = string
  default     = "604800s"
}

variable "env" {
  description = "Plain environment variables."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables read from Secret Manager (latest version): variable name => secret id. The function's account can read exactly these secrets."
  type        = map(string)
  default     = {}
}

variable "publishes_to" {
  description = "Topics the function publishes to: topic name => topic name or id. The function's account can publish to exactly these."
  type        = map(string)
  default     = {}
}

variable "memory" {
  description = "Memory of one instance."
  type        = string
}

variable "cpu" {
  description = "vCPUs of one instance; a concurrency above 1 needs at least 1."
  type        = string
}

variable "timeout_seconds" {
  description = "Request timeout. For a pushed function it is also the subscription's ack deadline, so at most 600."
  type        = number
}

variable "min_instances" {
  description = "Instances kept warm."
  type        = number
  default     = 0
}

variable "max_instances" {
  description = "Upper bound on instances: protects Firestore and Stripe's rate limit from a runaway caller."
  type        = number
}

variable "concurrency" {
  description = "Requests one instance serves at once."
  type        = number
}
