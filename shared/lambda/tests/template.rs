//! What the SAM template promises for a first deploy (SPEC §15, issue 18),
//! read from its text: cfn-lint and `sam validate` (tests/infra-lint) check
//! its shape, these check the choices.

fn infra(path: &str) -> String {
    let full = format!("{}/../../infra/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// The lines of the resource `name` (up to the next resource).
fn resource(template: &str, name: &str) -> String {
    let start = template
        .find(&format!("\n  {name}:\n"))
        .unwrap_or_else(|| panic!("no resource {name}"));
    // Everything until the next line indented by exactly two spaces.
    let mut out = String::new();
    for (i, line) in template[start + 1..].lines().enumerate() {
        if i > 0 && line.starts_with("  ") && !line.starts_with("   ") {
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn the_hash_key_never_sits_in_the_environment() {
    // §15: the secret's ARN is passed, read at start.
    let template = infra("template.yaml");
    assert!(!template.contains("resolve:secretsmanager"));
    assert!(template.contains("        HASH_KEY_SECRET_ARN: !Ref HashKeySecret\n"));
    assert!(!template.contains("        HASH_KEY: "));
    let policy = resource(&template, "ReadHashKey");
    assert!(policy.contains("secretsmanager:GetSecretValue"), "{policy}");
    assert!(policy.contains("Resource: !Ref HashKeySecret"), "{policy}");
}

#[test]
fn the_inbound_bucket_takes_mail_from_the_rule_set_the_parameter_names() {
    // Issue 18: an account whose active rule set must stay adds the reply rule to it.
    let template = infra("template.yaml");
    let policy = resource(&template, "InboundBucketPolicy");
    assert!(
        policy.contains("RuleSet: !If [OwnRuleSet, !Ref ReceiptRuleSet, !Ref InboundRuleSetName]"),
        "{policy}"
    );
    assert!(template.contains("  OwnRuleSet: !Equals [!Ref InboundRuleSetName, \"\"]\n"));
}

#[test]
fn the_webhook_topics_are_a_parameter_and_only_they_may_be_confirmed() {
    let template = infra("template.yaml");
    assert!(template.contains("        SNS_TOPIC_ARNS: !Join [\",\", !Ref WebhookTopicArns]\n"));
    let policy = resource(&template, "WebhooksConfirmSubscriptions");
    assert!(
        policy.contains("Action: sns:ConfirmSubscription"),
        "{policy}"
    );
    assert!(
        policy.contains("Resource: !Ref WebhookTopicArns"),
        "{policy}"
    );
    // Issue 20: the webhooks function confirms; nothing else may.
    assert!(
        policy.contains("Roles: [!Ref WebhooksFunctionRole]"),
        "{policy}"
    );
    assert_eq!(template.matches("sns:ConfirmSubscription").count(), 1);
}

#[test]
fn the_webhooks_are_a_function_of_their_own_behind_the_same_api() {
    // Issue 20: API Gateway routes the two SNS webhooks to the webhooks
    // function (its router has them, the API function's has not); every other
    // route goes to the API function.
    let template = infra("template.yaml");
    for route in ["SesEventsWebhookRoute", "InboundWebhookRoute"] {
        let route = resource(&template, route);
        assert!(route.contains("AuthorizationType: NONE"), "{route}");
        assert!(
            route.contains("Target: !Sub \"integrations/${WebhooksIntegration}\""),
            "{route}"
        );
    }
    assert_eq!(
        template
            .matches("Target: !Sub \"integrations/${WebhooksIntegration}\"")
            .count(),
        2
    );
    let integration = resource(&template, "WebhooksIntegration");
    assert!(
        integration.contains("IntegrationUri: !GetAtt WebhooksFunction.Arn"),
        "{integration}"
    );
    assert!(
        resource(&template, "WebhooksInvokePermission")
            .contains("FunctionName: !Ref WebhooksFunction")
    );
    let function = resource(&template, "WebhooksFunction");
    assert!(
        function.contains("Binary: outreach-webhooks\n"),
        "{function}"
    );
    // What handling SES events and inbound mail needs (the ses-events and
    // inbound functions' rights, forwarding included), no more.
    for policy in ["TableAccess", "ReadHashKey", "SendMail", "ScheduleWakeUps"] {
        assert!(function.contains(&format!("- !Ref {policy}\n")), "{policy}");
    }
    assert!(!function.contains("- !Ref QueueWork\n"), "{function}");
}

#[test]
fn operations_tracing_alarms_deletion_protection_and_no_build_cache() {
    // Issue 18 item 7.
    let template = infra("template.yaml");
    assert!(
        template.contains("\n    Tracing: Active\n"),
        "X-Ray on every function"
    );
    assert!(resource(&template, "Table").contains("DeletionProtectionEnabled: true"));
    let age = resource(&template, "PlannerQueueAgeAlarm");
    assert!(age.contains("ApproximateAgeOfOldestMessage"), "{age}");
    assert!(age.contains("!GetAtt PlannerQueue.QueueName"), "{age}");
    let throttles = resource(&template, "FunctionThrottlesAlarm");
    for function in [
        "ApiFunction",
        "SendStepFunction",
        "SesEventsFunction",
        "InboundFunction",
        "IdentityCheckFunction",
        "PlannerFunction",
        "WebhooksFunction",
        "ApiMailFunction",
        "ApiAccountsFunction",
    ] {
        assert!(
            throttles.contains(&format!("MetricName: Throttles, Dimensions: [{{ Name: FunctionName, Value: !Ref {function} }}]")),
            "{function}"
        );
        assert!(
            resource(&template, "FunctionErrorsAlarm")
                .contains(&format!("Value: !Ref {function} }}")),
            "{function}"
        );
    }
    let samconfig = infra("samconfig.toml");
    assert!(samconfig.contains("\ncached = false\n"), "{samconfig}");
}

#[test]
fn sends_are_bounded_by_the_send_queue_not_by_reserved_concurrency() {
    // §15, issue 18 items 1 and 7: a new account (concurrency quota 10) cannot
    // reserve any, so the send queue's event source mapping bounds send-step.
    let template = infra("template.yaml");
    assert!(
        !template.contains("ReservedConcurrentExecutions"),
        "a new account's deploy would roll back"
    );
    let send = resource(&template, "SendStepFunction");
    for wiring in [
        "Type: SQS\n",
        "Queue: !GetAtt SendQueue.Arn\n",
        "FunctionResponseTypes: [ReportBatchItemFailures]\n",
        "MaximumConcurrency: !Ref SendConcurrency\n",
        // It reads the account's maximum send rate at start to pace itself.
        "- !Ref ReadSendQuota\n",
    ] {
        assert!(send.contains(wiring), "send-step lacks {wiring:?}:\n{send}");
    }
    assert!(
        !send.contains("EventInvokeConfig"),
        "nothing invokes it asynchronously any more"
    );
    let quota = resource(&template, "ReadSendQuota");
    assert!(quota.contains("Action: ses:GetAccount"), "{quota}");
    // MaximumConcurrency starts at 2.
    let concurrency = resource(&template, "SendConcurrency");
    assert!(concurrency.contains("MinValue: 2\n"), "{concurrency}");

    let queue = resource(&template, "SendQueue");
    assert!(
        queue.contains("deadLetterTargetArn: !GetAtt SendDeadLetterQueue.Arn"),
        "{queue}"
    );
    assert!(queue.contains("maxReceiveCount: 5"), "{queue}");
    // Lambda's guidance: at least six times the function's timeout (the global 60 s).
    assert!(
        !send.contains("Timeout:"),
        "send-step keeps the global timeout"
    );
    assert!(template.contains("\n    Timeout: 60\n"));
    assert!(queue.contains("VisibilityTimeout: 360\n"), "{queue}");

    // Scheduler puts the wake-ups on the queue; it invokes no function.
    let role = resource(&template, "SchedulerRole");
    assert!(role.contains("Action: sqs:SendMessage"), "{role}");
    assert!(role.contains("- !GetAtt SendQueue.Arn"), "{role}");
    assert!(!role.contains("lambda:InvokeFunction"), "{role}");
    for variable in [
        "SEND_QUEUE_ARN: !GetAtt SendQueue.Arn",
        "SEND_QUEUE_URL: !Ref SendQueue",
        "SEND_CONCURRENCY: !Ref SendConcurrency",
    ] {
        assert!(
            template.contains(&format!("\n        {variable}\n")),
            "{variable}"
        );
    }
    // The sweeper (identity-check) and single messages (api-mail) queue
    // sends, and a campaign's start (api) or resume (api-accounts, on a
    // relink) its fan-out.
    assert!(resource(&template, "QueueWork").contains("- !GetAtt SendQueue.Arn"));
    for function in [
        "IdentityCheckFunction",
        "ApiFunction",
        "ApiMailFunction",
        "ApiAccountsFunction",
    ] {
        assert!(
            resource(&template, function).contains("- !Ref QueueWork\n"),
            "{function}"
        );
    }
    // Issue 20: of the API's functions only api-accounts calls SES (the
    // proof mail, the identities); the others link no SES client.
    for function in ["ApiFunction", "ApiMailFunction"] {
        let f = resource(&template, function);
        assert!(!f.contains("- !Ref SendMail\n"), "{function}");
        assert!(!f.contains("- !Ref ManageIdentities\n"), "{function}");
    }
    // The account routes api-mail served before keep their resource names, so
    // that updating a deployed stack retargets them in place (a renamed route
    // with the same key would be refused, 409).
    for route in [
        "MailAccountsRoute",
        "MailAccountRoute",
        "MailAccountResendRoute",
        "MailAccountDelegatesRoute",
        "MailAccountDelegateRoute",
    ] {
        assert!(
            resource(&template, route).contains("integrations/${ApiAccountsIntegration}"),
            "{route}"
        );
    }
    let accounts = resource(&template, "ApiAccountsFunction");
    assert!(
        accounts.contains("Binary: outreach-api-accounts\n"),
        "{accounts}"
    );
    for policy in ["SendMail", "ManageIdentities", "ScheduleWakeUps"] {
        assert!(accounts.contains(&format!("- !Ref {policy}\n")), "{policy}");
    }

    let age = resource(&template, "SendQueueAgeAlarm");
    assert!(
        age.contains("MetricName: ApproximateAgeOfOldestMessage"),
        "{age}"
    );
    assert!(age.contains("!GetAtt SendQueue.QueueName"), "{age}");
    let dead = resource(&template, "SendDeadLetterAlarm");
    assert!(
        dead.contains("ApproximateNumberOfMessagesVisible"),
        "{dead}"
    );
    assert!(
        dead.contains("!GetAtt SendDeadLetterQueue.QueueName"),
        "{dead}"
    );
    assert!(dead.contains("AlarmActions: [!Ref AlarmTopic]"), "{dead}");
}
