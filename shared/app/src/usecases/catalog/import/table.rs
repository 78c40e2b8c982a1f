//! Reading an import's CSV file: RFC 4180 through the `csv` crate,
//! UTF-8 with or without a BOM, the delimiter (comma, semicolon or tab) read
//! from the header row, the columns taken from a mapping or recognised by their
//! header names, and each data row checked as `POST /v1/candidates` checks a
//! candidate.

use std::collections::BTreeMap;

use outreach_domain::candidate::EmailType;
use outreach_domain::{EmailAddress, Zone};

use super::RowError;
use crate::error::{Error, FieldError};
use crate::usecases::catalog::candidates::{MAX_EMAILS, text_field};

/// At most this many data rows per import (R-3.7; 413 beyond).
pub const MAX_ROWS: usize = 10_000;

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    FirstName,
    LastName,
    /// "Name", "Full Name": split into first and last name when the file has no
    /// first-name column (recognised headers only, never a mapping target).
    FullName,
    Title,
    Company,
    Location,
    Timezone,
    Email(EmailType),
}

impl Field {
    /// A mapping's field name (SPEC Appendix A).
    pub fn parse(name: &str) -> Option<Field> {
        Some(match name {
            "first_name" => Field::FirstName,
            "last_name" => Field::LastName,
            "title" => Field::Title,
            "company" => Field::Company,
            "location" => Field::Location,
            "timezone" => Field::Timezone,
            "email:work" => Field::Email(EmailType::Work),
            "email:personal" => Field::Email(EmailType::Personal),
            "email:other" => Field::Email(EmailType::Other),
            _ => return None,
        })
    }

    /// The name errors report: the mapping's field name.
    pub fn name(self) -> &'static str {
        match self {
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::FullName => "name",
            Field::Title => "title",
            Field::Company => "company",
            Field::Location => "location",
            Field::Timezone => "timezone",
            Field::Email(EmailType::Work) => "email:work",
            Field::Email(EmailType::Personal) => "email:personal",
            Field::Email(EmailType::Other) => "email:other",
        }
    }

    /// A header as English spreadsheets and ATS exports (Greenhouse, Lever,
    /// LinkedIn Recruiter, SeekOut) write it: compared lower-cased, without
    /// spaces, punctuation or a trailing number ("E-mail 2" is "email").
    pub fn recognise(header: &str) -> Option<Field> {
        let key: String = header
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let key = key.trim_end_matches(|c: char| c.is_ascii_digit());
        Some(match key {
            "firstname" | "first" | "givenname" | "forename" => Field::FirstName,
            "lastname" | "last" | "surname" | "familyname" => Field::LastName,
            "name" | "fullname" | "candidatename" => Field::FullName,
            "title" | "jobtitle" | "currenttitle" | "position" | "currentposition" => Field::Title,
            "company" | "companyname" | "currentcompany" | "employer" | "currentemployer"
            | "organization" | "organisation" => Field::Company,
            "location" | "currentlocation" | "city" => Field::Location,
            "timezone" | "tz" => Field::Timezone,
            "workemail"
            | "workemailaddress"
            | "businessemail"
            | "businessemailaddress"
            | "professionalemail"
            | "companyemail"
            | "officeemail" => Field::Email(EmailType::Work),
            "personalemail" | "personalemailaddress" | "homeemail" | "privateemail" => {
                Field::Email(EmailType::Personal)
            }
            "email" | "emailaddress" | "mail" | "primaryemail" | "otheremail"
            | "otheremailaddress" | "secondaryemail" | "alternateemail" | "additionalemail" => {
                Field::Email(EmailType::Other)
            }
            _ => return None,
        })
    }
}

/// Which column (by index) holds which field, in the CSV's column order.
pub type Columns = Vec<(usize, Field)>;

/// One data row as a candidate, checked; kept as it is in an import
/// job's chunks.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RowCandidate {
    pub first_name: String,
    pub last_name: String,
    pub title: Option<String>,
    pub company: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<Zone>,
    /// In the CSV's column order: the relevancy order.
    pub emails: Vec<(EmailAddress, EmailType)>,
}

/// A data row (`row` counts data rows from 1) and what it holds.
#[derive(Debug)]
pub struct Row {
    pub row: usize,
    pub candidate: Result<RowCandidate, Vec<RowError>>,
}

/// The text of the file: UTF-8, a leading BOM dropped.
pub fn text(file: &[u8]) -> Result<&str, Error> {
    let file = file.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(file);
    std::str::from_utf8(file).map_err(|e| {
        Error::invalid(
            "file",
            format!(
                "the file must be UTF-8 text (invalid at byte {})",
                e.valid_up_to()
            ),
        )
    })
}

/// The delimiter of the header row: the one of comma, semicolon and tab it
/// holds most often outside quotes (comma on a tie or when it holds none).
pub fn delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for b in text.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b'\n' | b'\r' if !quoted => break,
            b',' if !quoted => counts[0] += 1,
            b';' if !quoted => counts[1] += 1,
            b'\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = (0..3).rev().max_by_key(|&i| counts[i]).unwrap_or(0);
    if counts[best] == 0 {
        b','
    } else {
        [b',', b';', b'\t'][best]
    }
}

/// Which column holds what: the mapping's (`{column name: field}`, SPEC
/// Appendix A) when given, which replaces recognition; else the recognised
/// headers. Unmapped columns are ignored.
pub fn columns(
    headers: &[String],
    mapping: Option<&BTreeMap<String, String>>,
) -> Result<Columns, Error> {
    let Some(mapping) = mapping else {
        let found: Vec<(usize, Field)> = headers
            .iter()
            .enumerate()
            .filter_map(|(i, h)| Field::recognise(h).map(|f| (i, f)))
            .collect();
        if found.is_empty() {
            return Err(Error::invalid(
                "mapping",
                "no column header was recognised; give a mapping of column names to fields",
            ));
        }
        return Ok(found);
    };
    let mut errors = Vec::new();
    let mut found = Vec::new();
    for (column, field) in mapping {
        let Some(field) = Field::parse(field) else {
            errors.push(FieldError::new(
                format!("mapping.{column}"),
                "must be one of first_name, last_name, title, company, location, timezone, email:work, email:personal, email:other",
            ));
            continue;
        };
        let exact: Vec<usize> = (0..headers.len())
            .filter(|&i| headers[i].trim() == column.trim())
            .collect();
        let named = if exact.is_empty() {
            (0..headers.len())
                .filter(|&i| headers[i].trim().eq_ignore_ascii_case(column.trim()))
                .collect()
        } else {
            exact
        };
        if named.is_empty() {
            errors.push(FieldError::new(
                format!("mapping.{column}"),
                "the file has no column with this name",
            ));
        }
        found.extend(named.into_iter().map(|i| (i, field)));
    }
    if !errors.is_empty() {
        return Err(Error::invalid_many(errors));
    }
    // The CSV's column order, whatever the mapping's order: emails keep it as
    // their relevancy order.
    found.sort_by_key(|(i, _)| *i);
    Ok(found)
}

/// The header names and the data rows of the file, each row checked. More
/// than [`MAX_ROWS`] data rows is 413: nothing is imported.
pub fn read(
    text: &str,
    mapping: Option<&BTreeMap<String, String>>,
) -> Result<(Columns, Vec<Row>), Error> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter(text))
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::invalid("file", format!("the header row cannot be read: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(Error::invalid("file", "the file has no header row"));
    }
    let columns = columns(&headers, mapping)?;
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        if row > MAX_ROWS {
            return Err(Error::TooLarge(format!(
                "at most {MAX_ROWS} data rows per import"
            )));
        }
        let candidate = match record {
            Err(e) => Err(vec![RowError::new(row, "row", e.to_string())]),
            Ok(r) if r.iter().all(|v| v.trim().is_empty()) => continue,
            Ok(r) if r.len() > headers.len() => Err(vec![RowError::new(
                row,
                "row",
                format!("has {} fields, the header row {}", r.len(), headers.len()),
            )]),
            Ok(r) => check(row, &headers, &columns, &r),
        };
        rows.push(Row { row, candidate });
    }
    Ok((columns, rows))
}

/// What one row's mapped cells hold: the text fields by name, the
/// addresses in column order, and the cells that are not addresses.
type Cells = (
    BTreeMap<&'static str, String>,
    Vec<(EmailAddress, EmailType)>,
    Vec<RowError>,
);

fn cells(
    row: usize,
    headers: &[String],
    columns: &[(usize, Field)],
    record: &csv::StringRecord,
) -> Cells {
    let mut text: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut full_name = None;
    let mut emails: Vec<(EmailAddress, EmailType)> = Vec::new();
    let mut errors = Vec::new();
    for &(i, field) in columns {
        let value = record.get(i).unwrap_or("").trim();
        if value.is_empty() {
            continue;
        }
        match field {
            Field::Email(kind) => {
                // A cell may list several addresses ("a@x.example; b@y.example").
                for part in value
                    .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                {
                    match EmailAddress::parse(part) {
                        Ok(a) if emails.iter().any(|(x, _)| *x == a) => {}
                        Ok(a) => emails.push((a, kind)),
                        Err(e) => errors.push(RowError::new(
                            row,
                            field.name(),
                            format!("column \"{}\": {e}", headers[i]),
                        )),
                    }
                }
            }
            Field::FullName => {
                full_name.get_or_insert_with(|| value.to_owned());
            }
            other => {
                text.entry(other.name()).or_insert_with(|| value.to_owned());
            }
        }
    }
    if !text.contains_key("first_name")
        && let Some(full) = full_name
    {
        let mut parts = full.splitn(2, char::is_whitespace);
        if let Some(first) = parts.next() {
            text.insert("first_name", first.to_owned());
        }
        if let Some(last) = parts.next().map(str::trim).filter(|l| !l.is_empty()) {
            text.entry("last_name").or_insert_with(|| last.to_owned());
        }
    }
    (text, emails, errors)
}

/// One row's values as a candidate, or every reason it is not one.
fn check(
    row: usize,
    headers: &[String],
    columns: &[(usize, Field)],
    record: &csv::StringRecord,
) -> Result<RowCandidate, Vec<RowError>> {
    let (mut text, emails, mut errors) = cells(row, headers, columns, record);
    if emails.len() > MAX_EMAILS {
        errors.push(RowError::new(
            row,
            "emails",
            format!("at most {MAX_EMAILS} addresses"),
        ));
    }
    let mut field_errors = Vec::new();
    let mut take = |name: &'static str, required| {
        text_field(name, text.remove(name), required, &mut field_errors)
    };
    let first_name = take("first_name", true);
    let last_name = take("last_name", false);
    let title = take("title", false);
    let company = take("company", false);
    let location = take("location", false);
    let timezone = match take("timezone", false) {
        Some(tz) => match Zone::parse(&tz) {
            Ok(z) => Some(z),
            Err(e) => {
                field_errors.push(FieldError::new("timezone", e.to_string()));
                None
            }
        },
        None => None,
    };
    errors.extend(
        field_errors
            .into_iter()
            .map(|e| RowError::new(row, e.field, e.message)),
    );
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RowCandidate {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        title,
        company,
        location,
        timezone,
        emails,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delimiter_is_the_header_rows_most_frequent_outside_quotes() {
        // comma, semicolon or tab, detected.
        assert_eq!(delimiter("a,b,c\n1;2;3;4;5\n"), b',');
        assert_eq!(delimiter("a;b;\"c,d,e\"\n"), b';');
        assert_eq!(delimiter("a\tb\tc,d\n"), b'\t');
        assert_eq!(delimiter("\"a\nb;c;d\",e\n"), b',');
        assert_eq!(delimiter("Email\n"), b',');
    }

    #[test]
    fn common_headers_of_ats_exports_are_recognised() {
        // R-3.7 (Greenhouse, Lever, LinkedIn Recruiter, SeekOut names).
        for (header, field) in [
            ("First Name", Field::FirstName),
            ("last_name", Field::LastName),
            ("Name", Field::FullName),
            ("Current Title", Field::Title),
            ("Current Company", Field::Company),
            ("Location", Field::Location),
            ("Time Zone", Field::Timezone),
            ("Email", Field::Email(EmailType::Other)),
            ("E-mail 2", Field::Email(EmailType::Other)),
            ("Email Address", Field::Email(EmailType::Other)),
            ("Work Email", Field::Email(EmailType::Work)),
            ("Business Email", Field::Email(EmailType::Work)),
            ("Personal Email", Field::Email(EmailType::Personal)),
        ] {
            assert_eq!(Field::recognise(header), Some(field), "{header}");
        }
        assert_eq!(Field::recognise("Phone"), None);
        assert_eq!(Field::recognise("LinkedIn URL"), None);
    }

    #[test]
    fn a_full_name_column_is_split_when_there_is_no_first_name() {
        let (columns, rows) = read("Name,Email\nAda King Lovelace,ada@x.example\n", None).unwrap();
        assert_eq!(columns.len(), 2);
        let c = rows[0].candidate.as_ref().unwrap();
        assert_eq!(c.first_name, "Ada");
        assert_eq!(c.last_name, "King Lovelace");
    }

    #[test]
    fn a_cell_may_list_several_addresses_in_order() {
        let (_, rows) = read(
            "First Name,Work Email\nAda,\"a@x.example; b@x.example\"\n",
            None,
        )
        .unwrap();
        let c = rows[0].candidate.as_ref().unwrap();
        let addresses: Vec<&str> = c.emails.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(addresses, ["a@x.example", "b@x.example"]);
    }

    #[test]
    fn blank_rows_count_for_nothing_and_row_numbers_count_data_rows() {
        let (_, rows) = read("First Name,Email\nAda,a@x.example\n,\n,bad\n", None).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].row, 3);
        assert!(rows[1].candidate.is_err());
    }
}
