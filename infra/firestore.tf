# Firestore: the (default) database in Native mode, its security rules
# (firestore.rules: no client access), the TTL policies, and the composite
# indexes.
#
# Indexes: every lookup on the payment paths is by document id, and the
# queries of the README's Firestore layout (a user's history by createdAt
# then id; accounts by repairAt; deletions by nextAttemptAt; the outbox by
# pending; a user's usage by periodStart; a user's transactions by type and
# credited, equalities only) are served by Firestore's automatic
# single-field indexes: they need no composite index. The exceptions are the
# two collection-group queries over every user's transactions below. The
# emulator does not enforce indexes, so a query that needs one passes every
# local test and fails in production: infra_test.go finds the query chains
# in the Go code and checks each one that needs an index has it here.

resource "google_firestore_database" "default" {
  count = var.create_firestore_database ? 1 : 0

  project     = var.project
  name        = "(default)"
  location_id = coalesce(var.firestore_location, var.region)
  type        = "FIRESTORE_NATIVE"
  # A ledger: a week of point-in-time recovery, and no accidental delete.
  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = "DELETE_PROTECTION_ENABLED"
  deletion_policy                   = "ABANDON"

  depends_on = [google_project_service.enabled]
}

# Security rules judge only client requests (web and mobile SDKs, REST with
# an end user's token); the functions use server credentials, which rules do
# not apply to. No client should ever reach the ledger, so firestore.rules
# refuses everything, and this release makes it the rules of the (default)
# database. A ruleset is immutable: a changed file creates a new one (before
# the old one goes, since the release still points at it), and the release
# is replaced to point at it.
resource "google_firebaserules_ruleset" "firestore" {
  project = var.project

  source {
    files {
      name    = "firestore.rules"
      content = file("${path.module}/firestore.rules")
    }
  }

  lifecycle {
    create_before_destroy = true
  }

  depends_on = [google_project_service.enabled, google_firestore_database.default]
}

resource "google_firebaserules_release" "firestore" {
  project      = var.project
  name         = "cloud.firestore"
  ruleset_name = "projects/${var.project}/rulesets/${google_firebaserules_ruleset.firestore.name}"

  lifecycle {
    replace_triggered_by = [google_firebaserules_ruleset.firestore]
  }
}

# Processed Stripe events keep 30 days (expireAt), longer than Stripe's 3
# days of retries; published outbox rows keep 7 days. expireAt grows with
# time and no query reads it, so it is not indexed (a TTL field's index
# only adds write hotspots).
resource "google_firestore_field" "stripe_events_ttl" {
  project    = var.project
  database   = "(default)"
  collection = "stripe_events"
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.default]
}

resource "google_firestore_field" "outbox_ttl" {
  project    = var.project
  database   = "(default)"
  collection = "outbox"
  field      = "expireAt"

  ttl_config {}
  index_config {}

  depends_on = [google_firestore_database.default]
}

# CancelStalePayments: transactions of every user (a collection group) with
# status == "pending", type in the payment types and createdAt < cutoff.
# Equalities and a range across a collection group need this composite index.
resource "google_firestore_index" "stale_payments" {
  project     = var.project
  database    = "(default)"
  collection  = "transactions"
  query_scope = "COLLECTION_GROUP"

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }

  fields {
    field_path = "type"
    order      = "ASCENDING"
  }

  fields {
    field_path = "createdAt"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_database.default]
}

# Invoice credits still pending in Stripe (Reconcile finishes them):
# transactions of every user with type == "invoice_credit" and status ==
# "pending". Equalities on two fields of a collection group have no
# automatic index to merge.
resource "google_firestore_index" "pending_entries" {
  project     = var.project
  database    = "(default)"
  collection  = "transactions"
  query_scope = "COLLECTION_GROUP"

  fields {
    field_path = "type"
    order      = "ASCENDING"
  }

  fields {
    field_path = "status"
    order      = "ASCENDING"
  }

  depends_on = [google_firestore_database.default]
}
