//! Without a mapping, the addresses a file holds in columns whose headers
//! the import does not recognise.

use outreach_domain::EmailAddress;

use super::table::{Columns, Field};
use crate::error::Error;

/// Without a mapping, the columns no header named that hold addresses when
/// no column was recognised as an email: such a file would create every
/// candidate without an address, without a word (R-3.7 recognises "common
/// header names"; a "Mail Büro" column is not one). A column whose
/// non-empty cells are mostly addresses refuses the import with 422, naming
/// it and the mapping that would read it.
pub(super) struct UnreadAddresses<'h> {
    /// (header, addresses, non-empty cells) of each column to watch.
    watched: Vec<(usize, &'h str, usize, usize)>,
}

impl<'h> UnreadAddresses<'h> {
    pub(super) fn new(headers: &'h [String], columns: &Columns, mapped: bool) -> Self {
        let has_email = columns.iter().any(|(_, f)| matches!(f, Field::Email(_)));
        let watched = if mapped || has_email {
            Vec::new()
        } else {
            (0..headers.len())
                .filter(|i| columns.iter().all(|(c, _)| c != i))
                .map(|i| (i, headers[i].trim(), 0, 0))
                .collect()
        };
        UnreadAddresses { watched }
    }

    pub(super) fn count(&mut self, record: &csv::StringRecord) {
        for (i, _, addresses, filled) in &mut self.watched {
            let value = record.get(*i).unwrap_or("").trim();
            if value.is_empty() {
                continue;
            }
            *filled += 1;
            if value.contains('@') && EmailAddress::parse(value).is_ok() {
                *addresses += 1;
            }
        }
    }

    pub(super) fn refuse(&self) -> Result<(), Error> {
        let Some((_, header, ..)) = self
            .watched
            .iter()
            .find(|(_, _, addresses, filled)| *addresses > 0 && addresses * 2 >= *filled)
        else {
            return Ok(());
        };
        Err(Error::invalid(
            "mapping",
            format!(
                "column \"{header}\" holds email addresses but its name is not one this import recognises, so every candidate would be created without an address; give a mapping, e.g. {{\"{header}\": \"email:work\"}}, or name the column \"Email\""
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::read;

    #[test]
    fn a_column_of_addresses_no_header_names_refuses_the_import() {
        // the whole file would otherwise lose its addresses silently.
        let refused = read(
            "Name;Mail Büro\nAda L;ada@x.example\nBo M;bo@x.example\n",
            None,
        )
        .expect_err("refused");
        assert!(refused.to_string().contains("Mail Büro"), "{refused}");
        // Words with an @ are not addresses; a recognised email column reads them.
        assert!(read("Name;Note\nAda L;loves @rust\n", None).is_ok());
        assert!(
            read(
                "Name;Email;Mail Büro\nAda L;ada@x.example;a2@x.example\n",
                None
            )
            .is_ok()
        );
        // A mapping says what is read: nothing to guess.
        let mapping = [("Name".to_owned(), "first_name".to_owned())].into();
        assert!(read("Name;Mail Büro\nAda;ada@x.example\n", Some(&mapping)).is_ok());
    }
}
