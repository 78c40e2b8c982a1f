//! Reading an import's CSV file: RFC 4180 through the `csv` crate,
//! UTF-8 with or without a BOM, the delimiter (comma, semicolon or tab) read
//! from the header row, the columns taken from a mapping or recognised by their
//! header names, and each data row checked as `POST /v1/candidates` checks a
//! candidate.

use std::collections::BTreeMap;

use outreach_domain::candidate::EmailType;
use outreach_domain::{EmailAddress, Zone};

use super::RowError;
use super::unread::UnreadAddresses;
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
            // "Vorname", "Nachname": Personio's German export.
            "firstname" | "first" | "givenname" | "forename" | "candidatefirstname"
            | "vorname" => Field::FirstName,
            "lastname" | "last" | "surname" | "familyname" | "candidatelastname" | "nachname" => {
                Field::LastName
            }
            "name" | "fullname" | "candidatename" => Field::FullName,
            "title" | "jobtitle" | "currenttitle" | "position" | "currentposition" => Field::Title,
            "company" | "companyname" | "currentcompany" | "employer" | "currentemployer"
            | "organization" | "organisation" | "firma" | "unternehmen" => Field::Company,
            "location" | "currentlocation" | "city" | "ort" | "standort" => Field::Location,
            "timezone" | "tz" => Field::Timezone,
            "workemail"
            | "workemailaddress"
            | "workemails"
            | "businessemail"
            | "businessemailaddress"
            | "professionalemail"
            | "companyemail"
            | "officeemail" => Field::Email(EmailType::Work),
            "personalemail" | "personalemailaddress" | "personalemails" | "homeemail"
            | "privateemail" => {
                Field::Email(EmailType::Personal)
            }
            "email"
            | "emailaddress"
            | "mail"
            | "primaryemail"
            | "primaryemailaddress"
            | "otheremail"
            | "otheremailaddress"
            | "secondaryemail"
            | "alternateemail"
            | "additionalemail"
            // Greenhouse "Email Addresses", Recruitee "Emails", Ashby
            // "Secondary Emails", "Candidate Email".
            | "emails"
            | "emailaddresses"
            | "otheremails"
            | "secondaryemails"
            | "additionalemails"
            | "candidateemail"
            | "candidateemailaddress" => Field::Email(EmailType::Other),
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
    /// The data row (from 1), for an error found when the row is applied.
    pub row: usize,
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

/// Excel's delimiter hint: a first line `sep=;` (or `sep=,`, `sep=<tab>`)
/// names the delimiter and is no part of the table. The text after it and
/// the delimiter it names; the text as it is when it has none. Another
/// delimiter named there is 422 (R-3.7: comma, semicolon or tab).
pub fn delimiter_hint(text: &str) -> Result<(&str, Option<u8>), Error> {
    let end = text.find('\n').map_or(text.len(), |i| i + 1);
    let line = text[..end].trim_end_matches(['\r', '\n']);
    let Some(named) = line
        .get(..4)
        .filter(|p| p.eq_ignore_ascii_case("sep="))
        .map(|_| &line[4..])
    else {
        return Ok((text, None));
    };
    let delimiter = match named {
        "," => b',',
        ";" => b';',
        "\t" => b'\t',
        _ => {
            return Err(Error::invalid(
                "file",
                format!(
                    "the first line {line:?} names a delimiter other than comma, semicolon or tab"
                ),
            ));
        }
    };
    Ok((&text[end..], Some(delimiter)))
}

/// Where a quoted field that is never closed opens (its byte offset), read
/// as the `csv` crate reads (a quote opens a quoted field only at a field's
/// start; two quotes inside one are one quote). The crate reads such a
/// field to the end of the file without an error, which would swallow every
/// row after it into one cell.
pub fn unclosed_quote(text: &str, delimiter: u8) -> Option<usize> {
    #[derive(Clone, Copy)]
    enum State {
        Start,
        Field,
        Quoted(usize),
        QuoteInQuoted(usize),
    }
    let mut state = State::Start;
    for (i, b) in text.bytes().enumerate() {
        state = match (state, b) {
            (State::Start, b'"') => State::Quoted(i),
            (State::Start | State::Field, b) if b == delimiter || b == b'\n' || b == b'\r' => {
                State::Start
            }
            (State::Start | State::Field, _) => State::Field,
            (State::Quoted(at), b'"') => State::QuoteInQuoted(at),
            (State::Quoted(at), _) => State::Quoted(at),
            (State::QuoteInQuoted(at), b'"') => State::Quoted(at),
            (State::QuoteInQuoted(_), b) if b == delimiter || b == b'\n' || b == b'\r' => {
                State::Start
            }
            (State::QuoteInQuoted(_), _) => State::Field,
        };
    }
    match state {
        State::Quoted(at) => Some(at),
        _ => None,
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
    let (text, hint) = delimiter_hint(text)?;
    let delimiter = hint.unwrap_or_else(|| delimiter(text));
    let unclosed = unclosed_quote(text, delimiter);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
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
    let data_start = reader.position().byte();
    if unclosed.is_some_and(|at| (at as u64) < data_start) {
        return Err(Error::invalid(
            "file",
            "a quote in the header row is never closed, so the whole file would be one header",
        ));
    }
    let columns = columns(&headers, mapping)?;
    let mut unread = UnreadAddresses::new(&headers, &columns, mapping.is_some());
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    for row in 1.. {
        let start = reader.position().byte();
        let read = reader.read_record(&mut record);
        if matches!(read, Ok(false)) {
            break;
        }
        if row > MAX_ROWS {
            return Err(Error::TooLarge(format!(
                "at most {MAX_ROWS} data rows per import"
            )));
        }
        // The quote that is never closed opens in this record, which the
        // reader ran to the end of the file.
        let end = reader.position().byte();
        let swallowed = unclosed.filter(|&at| start <= at as u64 && (at as u64) < end);
        let candidate = match (read, swallowed) {
            (Err(e), _) => Err(vec![RowError::new(row, "row", e.to_string())]),
            (Ok(_), Some(at)) => Err(vec![unclosed_row(row, &text[at..])]),
            (Ok(_), None) if record.iter().all(|v| v.trim().is_empty()) => continue,
            (Ok(_), None) if record.len() > headers.len() => Err(vec![RowError::new(
                row,
                "row",
                format!(
                    "has {} fields, the header row {}",
                    record.len(),
                    headers.len()
                ),
            )]),
            (Ok(_), None) => {
                unread.count(&record);
                check(row, &headers, &columns, &record)
            }
        };
        rows.push(Row { row, candidate });
    }
    unread.refuse()?;
    Ok((columns, rows))
}

/// The error of the row whose quoted field is never closed (`rest`: the
/// file from that quote on): the row and every line after it are reported,
/// never imported as one cell.
fn unclosed_row(row: usize, rest: &str) -> RowError {
    let after = rest.lines().count().saturating_sub(1);
    RowError::new(
        row,
        "row",
        format!(
            "a quoted field opens in this row and is never closed, so the file's {after} line(s) \
             after it were read into that one field: this row and those lines were not \
             imported; close the quote and import them again"
        ),
    )
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

/// The header of the column a row's `field` came from: the first mapped
/// to it with a value in this row, else the first mapped to it (an empty
/// required field); `None` when no column is.
fn column_of<'a>(
    field: &str,
    headers: &'a [String],
    columns: &[(usize, Field)],
    record: &csv::StringRecord,
) -> Option<&'a str> {
    let mapped = || columns.iter().filter(|(_, f)| f.name() == field);
    let found = mapped()
        .find(|(i, _)| !record.get(*i).unwrap_or("").trim().is_empty())
        .or_else(|| mapped().next())
        .and_then(|(i, _)| headers.get(*i))
        .map(String::as_str);
    match field {
        // A first or last name split from a full-name column.
        "first_name" | "last_name" if found.is_none() => {
            column_of(Field::FullName.name(), headers, columns, record)
        }
        _ => found,
    }
}

/// One row's values as a candidate, or every reason it is not one.
fn check(
    row: usize,
    headers: &[String],
    columns: &[(usize, Field)],
    record: &csv::StringRecord,
) -> Result<RowCandidate, Vec<RowError>> {
    let (mut text, emails, mut errors) = cells(row, headers, columns, record);
    if let Some((_, kind)) = emails.get(MAX_EMAILS) {
        // The field of the first address beyond the cap.
        errors.push(RowError::new(
            row,
            Field::Email(*kind).name(),
            format!(
                "{} addresses; a candidate has at most {MAX_EMAILS}",
                emails.len()
            ),
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
    errors.extend(field_errors.into_iter().map(|e| {
        // The column the value came from, as an address error names it.
        let message = match column_of(&e.field, headers, columns, record) {
            Some(column) => format!("column \"{column}\": {}", e.message),
            None => e.message,
        };
        RowError::new(row, e.field, message)
    }));
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(RowCandidate {
        row,
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
            ("Firma", Field::Company),
            ("Standort", Field::Location),
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
    fn every_row_error_names_its_column() {
        // README: `message` names the column, for text fields too
        // (issue 21 outside review: only address errors did).
        let long = "x".repeat(201);
        let file = format!(
            "Vorname,Zeitzone,TZ,Work Email\n{long},,Mars/Base,a@x.example\n,,,b@x.example\n"
        );
        let (_, rows) = read(&file, None).unwrap();
        let errors: Vec<(String, String)> = rows
            .iter()
            .flat_map(|r| r.candidate.as_ref().err().into_iter().flatten())
            .map(|e| (e.field.clone(), e.message.clone()))
            .collect();
        assert!(
            errors
                .iter()
                .any(|(f, m)| f == "first_name" && m.starts_with("column \"Vorname\": ")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|(f, m)| f == "timezone" && m.starts_with("column \"TZ\": ")),
            "{errors:?}"
        );
        let missing = errors.iter().filter(|(f, _)| f == "first_name").count();
        assert_eq!(
            missing, 2,
            "too long in row 1, missing in row 2: {errors:?}"
        );
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
    fn a_quote_never_closed_is_an_error_of_its_row_and_swallows_nothing() {
        // invalid rows are reported. Before, the csv crate read the
        // rest of the file into row 1's last name without an error.
        let (_, rows) = read(
            "First Name,Last Name,Email\nAda,\"Lovelace,ada@x.example\nGrace,Hopper,grace@x.example\nAlan,Turing,alan@x.example\n",
            None,
        )
        .unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].row, 1);
        let errors = rows[0].candidate.as_ref().unwrap_err();
        assert_eq!(errors[0].field, "row");
        assert!(
            errors[0].message.contains("never closed") && errors[0].message.contains("2 line(s)"),
            "{errors:?}"
        );
        // Rows before it are read; a closed quote with a newline inside is fine.
        let (_, rows) = read(
            "First Name,Company,Email\nAda,\"A\nB\",a@x.example\nGrace,Ho\"pper,g@x.example\nAlan,\"T\n",
            None,
        )
        .unwrap();
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert!(rows[0].candidate.is_ok() && rows[1].candidate.is_ok());
        assert_eq!(rows[2].row, 3);
        assert!(rows[2].candidate.is_err());
        // In the header row: the file is refused.
        assert!(read("First Name,\"Email\nAda,a@x.example\n", None).is_err());
        assert_eq!(unclosed_quote("a,\"b\"\"c\",d\n", b','), None);
        assert_eq!(unclosed_quote("a,\"b\"\"c,d\n", b','), Some(2));
    }

    #[test]
    fn an_excel_sep_line_names_the_delimiter_and_is_skipped() {
        // Excel's "sep=;" first line is a delimiter hint, not a header.
        let (columns, rows) =
            read("sep=;\r\nFirst Name;Email\r\nAda;ada@x.example\r\n", None).unwrap();
        assert_eq!(columns.len(), 2);
        let c = rows[0].candidate.as_ref().unwrap();
        assert_eq!((c.first_name.as_str(), c.emails.len()), ("Ada", 1));
        // The hint wins over the header's most frequent delimiter.
        let (_, rows) = read(
            "SEP=,\nFirst Name,Title\tX,Email\nAda,CTO;x,a@x.example\n",
            None,
        )
        .unwrap();
        assert_eq!(rows[0].candidate.as_ref().unwrap().first_name, "Ada");
        let (_, rows) = read("sep=\t\nFirst Name\tEmail\nAda\ta@x.example\n", None).unwrap();
        assert_eq!(rows[0].candidate.as_ref().unwrap().emails.len(), 1);
        assert!(read("sep=|\nFirst Name|Email\n", None).is_err());
    }

    #[test]
    fn email_columns_of_greenhouse_recruitee_and_ashby_are_recognised() {
        for header in [
            "Email Addresses",
            "Emails",
            "Secondary Emails",
            "Candidate Email",
            "Primary Email Address",
        ] {
            assert_eq!(
                Field::recognise(header),
                Some(Field::Email(EmailType::Other)),
                "{header}"
            );
        }
        assert_eq!(
            Field::recognise("Candidate First Name"),
            Some(Field::FirstName)
        );
        assert_eq!(
            Field::recognise("Candidate Last Name"),
            Some(Field::LastName)
        );
        assert_eq!(Field::recognise("Vorname"), Some(Field::FirstName));
        assert_eq!(Field::recognise("Nachname"), Some(Field::LastName));
    }

    #[test]
    fn blank_rows_count_for_nothing_and_row_numbers_count_data_rows() {
        let (_, rows) = read("First Name,Email\nAda,a@x.example\n,\n,bad\n", None).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].row, 3);
        assert!(rows[1].candidate.is_err());
    }
}
