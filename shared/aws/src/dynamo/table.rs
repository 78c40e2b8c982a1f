//! The table's definition, for tests and tools that create it themselves (the
//! deployment declares the same table in its template).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::item::{ID, ORG};
use super::keys;

#[derive(Debug, thiserror::Error)]
#[error("could not create the table: {0}")]
pub struct CreateTableError(String);

fn fail(e: impl std::fmt::Display) -> CreateTableError {
    CreateTableError(e.to_string())
}

fn schema(pk: &str, sk: &str) -> Result<Vec<KeySchemaElement>, CreateTableError> {
    Ok(vec![
        KeySchemaElement::builder()
            .attribute_name(pk)
            .key_type(KeyType::Hash)
            .build()
            .map_err(fail)?,
        KeySchemaElement::builder()
            .attribute_name(sk)
            .key_type(KeyType::Range)
            .build()
            .map_err(fail)?,
    ])
}

fn index(
    name: &str,
    pk: &str,
    sk: &str,
    projection: Projection,
) -> Result<GlobalSecondaryIndex, CreateTableError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .set_key_schema(Some(schema(pk, sk)?))
        .projection(projection)
        .build()
        .map_err(fail)
}

/// Creates the table (on-demand, the three indexes of `keys`, TTL on `ttl`) and
/// waits until it is active.
pub async fn create_table(client: &Client, name: &str) -> Result<(), CreateTableError> {
    let attributes = [
        keys::PK,
        keys::SK,
        keys::GSI1PK,
        keys::GSI1SK,
        keys::GSI2PK,
        keys::GSI2SK,
        keys::GSI3PK,
        keys::GSI3SK,
    ]
    .into_iter()
    .map(|a| {
        AttributeDefinition::builder()
            .attribute_name(a)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .map_err(fail)
    })
    .collect::<Result<Vec<_>, _>>()?;
    // Lists read their records by key (issue 19 item 1): an update that keeps
    // an item's GSI1 keys writes nothing to the index.
    let keys_only = Projection::builder()
        .projection_type(ProjectionType::KeysOnly)
        .build();
    // Lookups answer with ids only.
    let ids = Projection::builder()
        .projection_type(ProjectionType::Include)
        .non_key_attributes(ORG)
        .non_key_attributes(ID)
        .build();
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(attributes))
        .set_key_schema(Some(schema(keys::PK, keys::SK)?))
        .global_secondary_indexes(index(keys::GSI1, keys::GSI1PK, keys::GSI1SK, keys_only)?)
        .global_secondary_indexes(index(keys::GSI2, keys::GSI2PK, keys::GSI2SK, ids.clone())?)
        .global_secondary_indexes(index(keys::GSI3, keys::GSI3PK, keys::GSI3SK, ids)?)
        .send()
        .await
        .map_err(|e| fail(DisplayErrorContext(&e)))?;
    for _ in 0..600 {
        let described = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| fail(DisplayErrorContext(&e)))?;
        let active = described
            .table()
            .and_then(|t| t.table_status())
            .is_some_and(|s| s.as_str() == "ACTIVE");
        if active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name(keys::TTL)
                .build()
                .map_err(fail)?,
        )
        .send()
        .await
        .map_err(|e| fail(DisplayErrorContext(&e)))?;
    Ok(())
}
