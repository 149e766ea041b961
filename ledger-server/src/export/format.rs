//! Rows to bytes: CSV (RFC 4180 quoting by the `csv` crate, a header line first, `\n` line ends)
//! or JSON lines (one object per row, keys in column order, no header).
//!
//! Both formats carry the same columns in the same order. A cell is text, a small integer or
//! absent: CSV writes absent as an empty field, JSON lines as `null`; integers are JSON numbers
//! (only columns that fit in 53 bits use them: codes, ledgers, versions), everything else a
//! JSON string (u64 and u128 values as decimal strings, as everywhere in the API).
//!
//! The encoders hold no state between chunks: a chunk is a run of whole rows, so the chunks of
//! one export can be written out as they come and concatenated.

use super::ExportFormat;

/// One value of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    /// A number that JSON holds exactly (codes, ledger ids, chart versions).
    Int(u32),
    /// No value: an empty CSV field, a JSON `null`.
    Absent,
}

impl Cell {
    /// Text, or absent when `None`.
    pub fn text(value: Option<impl Into<String>>) -> Self {
        value.map_or(Self::Absent, |v| Self::Text(v.into()))
    }

    /// An integer, or absent when `None`.
    pub fn int(value: Option<impl Into<u32>>) -> Self {
        value.map_or(Self::Absent, |v| Self::Int(v.into()))
    }
}

/// Why a chunk could not be encoded. Writing into memory cannot fail, so this means a bug in
/// the encoder; it is reported rather than unwrapped because the server must not panic.
#[derive(Debug, thiserror::Error)]
#[error("encoding a {format} row: {detail}")]
pub struct EncodeError {
    pub format: &'static str,
    pub detail: String,
}

/// Encodes rows of `N` columns named `columns`.
#[derive(Clone, Copy, Debug)]
pub struct RowEncoder<const N: usize> {
    pub format: ExportFormat,
    pub columns: &'static [&'static str; N],
}

impl<const N: usize> RowEncoder<N> {
    /// The header line (CSV only: JSON lines name the columns in every row).
    ///
    /// # Errors
    /// `EncodeError` only on an encoder bug (see the type).
    pub fn header(&self, out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self.format {
            ExportFormat::Csv => {
                let mut csv = csv::WriterBuilder::new().from_writer(&mut *out);
                csv.write_record(self.columns).map_err(|e| csv_error(&e))?;
                csv.flush().map_err(|e| EncodeError { format: "csv", detail: e.to_string() })
            }
            ExportFormat::Jsonl => Ok(()),
        }
    }

    /// Appends `rows` to `out`.
    ///
    /// # Errors
    /// `EncodeError` only on an encoder bug (see the type).
    pub fn rows(&self, rows: &[[Cell; N]], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        match self.format {
            ExportFormat::Csv => {
                let mut numbers = [const { String::new() }; N];
                let mut csv = csv::WriterBuilder::new().from_writer(&mut *out);
                for row in rows {
                    for (number, cell) in numbers.iter_mut().zip(row) {
                        if let Cell::Int(value) = cell {
                            *number = value.to_string();
                        }
                    }
                    let fields = row.iter().zip(&numbers).map(|(cell, number)| match cell {
                        Cell::Text(text) => text.as_str(),
                        Cell::Int(_) => number.as_str(),
                        Cell::Absent => "",
                    });
                    csv.write_record(fields).map_err(|e| csv_error(&e))?;
                }
                csv.flush().map_err(|e| EncodeError { format: "csv", detail: e.to_string() })
            }
            ExportFormat::Jsonl => {
                for row in rows {
                    self.json_line(row, out)?;
                }
                Ok(())
            }
        }
    }

    /// One JSON object, keys in column order, then `\n`. Written field by field rather than
    /// through a map, so the key order cannot depend on a map's features.
    fn json_line(&self, row: &[Cell; N], out: &mut Vec<u8>) -> Result<(), EncodeError> {
        let json_error = |e: serde_json::Error| EncodeError { format: "jsonl", detail: e.to_string() };
        out.push(b'{');
        for (i, (column, cell)) in self.columns.iter().zip(row).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut *out, column).map_err(json_error)?;
            out.push(b':');
            match cell {
                Cell::Text(text) => serde_json::to_writer(&mut *out, text).map_err(json_error)?,
                Cell::Int(value) => out.extend_from_slice(value.to_string().as_bytes()),
                Cell::Absent => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(b"}\n");
        Ok(())
    }
}

fn csv_error(error: &csv::Error) -> EncodeError {
    EncodeError { format: "csv", detail: error.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLUMNS: [&str; 4] = ["name", "code", "note", "amount"];

    fn encode(format: ExportFormat, rows: &[[Cell; 4]]) -> String {
        let encoder = RowEncoder { format, columns: &COLUMNS };
        let mut out = Vec::new();
        encoder.header(&mut out).expect("header");
        encoder.rows(rows, &mut out).expect("rows");
        String::from_utf8(out).expect("UTF-8")
    }

    fn text(value: &str) -> Cell {
        Cell::Text(value.to_owned())
    }

    fn awkward_rows() -> Vec<[Cell; 4]> {
        vec![
            [text("Cash, at bank"), Cell::Int(1002), text(r#"{"ref":"B-1"}"#), text("10.00")],
            [text("two\nlines"), Cell::Absent, text(""), text("0.05")],
            [text("plain"), Cell::Int(u32::MAX), Cell::Absent, text("é")],
        ]
    }

    #[test]
    fn csv_quotes_what_needs_quoting_and_nothing_else() {
        assert_eq!(
            encode(ExportFormat::Csv, &awkward_rows()),
            "name,code,note,amount\n\
             \"Cash, at bank\",1002,\"{\"\"ref\"\":\"\"B-1\"\"}\",10.00\n\
             \"two\nlines\",,,0.05\n\
             plain,4294967295,,é\n"
        );
    }

    #[test]
    fn csv_reads_back_to_the_same_cells() {
        let written = encode(ExportFormat::Csv, &awkward_rows());
        let mut reader = csv::Reader::from_reader(written.as_bytes());
        let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_owned).collect();
        assert_eq!(headers, COLUMNS);
        let rows: Vec<Vec<String>> =
            reader.records().map(|r| r.expect("a record").iter().map(str::to_owned).collect()).collect();
        assert_eq!(rows[0], ["Cash, at bank", "1002", r#"{"ref":"B-1"}"#, "10.00"]);
        assert_eq!(rows[1], ["two\nlines", "", "", "0.05"]);
    }

    #[test]
    fn json_lines_keep_the_column_order_and_types() {
        let written = encode(ExportFormat::Jsonl, &awkward_rows());
        let lines: Vec<&str> = written.lines().collect();
        assert_eq!(lines.len(), 3, "no header, one line per row: {written}");
        assert_eq!(
            lines[0],
            r#"{"name":"Cash, at bank","code":1002,"note":"{\"ref\":\"B-1\"}","amount":"10.00"}"#
        );
        assert_eq!(lines[1], r#"{"name":"two\nlines","code":null,"note":"","amount":"0.05"}"#);
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(line).expect("each line is JSON");
            let keys: Vec<&String> = value.as_object().expect("an object").keys().collect();
            assert_eq!(keys, COLUMNS.iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn chunks_concatenate_to_the_whole() {
        let rows = awkward_rows();
        for format in [ExportFormat::Csv, ExportFormat::Jsonl] {
            let encoder = RowEncoder { format, columns: &COLUMNS };
            let mut chunked = Vec::new();
            encoder.header(&mut chunked).expect("header");
            for row in &rows {
                encoder.rows(std::slice::from_ref(row), &mut chunked).expect("one row");
            }
            assert_eq!(String::from_utf8(chunked).expect("UTF-8"), encode(format, &rows), "{format:?}");
        }
    }
}
