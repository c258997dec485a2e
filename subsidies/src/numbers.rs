//! Payees' numbers: the checks the county desk runs before anything is sealed (ID-card numbers
//! by GB 11643's check digit, bank-card numbers by the Luhn sum) and the masked copies every
//! view shows (`5101**********1234`, `6222 **** **** 1234`).

/// The weights of GB 11643-1999's check digit (ISO 7064 MOD 11-2) for the first 17 digits.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder mod 11.
const ID_CHECK: &[u8; 11] = b"10X98765432";
pub const BANK_CARD_DIGITS_MIN: usize = 12;
pub const BANK_CARD_DIGITS_MAX: usize = 19;
pub const BANK_NAME_CHARS_MAX: usize = 40;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    #[error("an ID-card number has 18 characters: 17 digits and a digit or X")]
    IdCardShape,
    #[error("the ID-card number's birth date is not a date")]
    IdCardDate,
    #[error("the ID-card number's check digit is wrong")]
    IdCardCheck,
    #[error("a bank-card number has 12 to 19 digits")]
    BankCardShape,
    #[error("the bank-card number's Luhn check fails")]
    BankCardCheck,
    #[error("the bank's name is empty or too long")]
    BankName,
}

impl NumberError {
    pub fn message_zh(&self) -> String {
        match self {
            NumberError::IdCardShape => "身份证号码应为 18 位：前 17 位为数字，最后一位为数字或 X".into(),
            NumberError::IdCardDate => "身份证号码中的出生日期不正确".into(),
            NumberError::IdCardCheck => "身份证号码校验位不正确，请核对后重新输入".into(),
            NumberError::BankCardShape => {
                format!("银行卡号应为 {BANK_CARD_DIGITS_MIN} 至 {BANK_CARD_DIGITS_MAX} 位数字")
            }
            NumberError::BankCardCheck => "银行卡号校验不通过，请核对后重新输入".into(),
            NumberError::BankName => format!("请填写开户银行（不超过 {BANK_NAME_CHARS_MAX} 个字）"),
        }
    }
}

/// Checks an ID-card number as typed (spaces ignored, a lower-case x accepted) and returns it
/// in its canonical form (upper-case X).
pub fn check_id_card(typed: &str) -> Result<String, NumberError> {
    let s: String = typed.chars().filter(|c| !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let b = s.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) || !(b[17].is_ascii_digit() || b[17] == b'X')
    {
        return Err(NumberError::IdCardShape);
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(0);
    let (year, month, day) = (num(6..10), num(10..12), num(12..14));
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    if !(1900..=2100).contains(&year) || day == 0 || day > days {
        return Err(NumberError::IdCardDate);
    }
    let sum: u32 = b[..17].iter().zip(ID_WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    if ID_CHECK[(sum % 11) as usize] != b[17] {
        return Err(NumberError::IdCardCheck);
    }
    Ok(s)
}

/// Checks a bank-card number as typed (spaces and dashes ignored) and returns its digits.
pub fn check_bank_card(typed: &str) -> Result<String, NumberError> {
    let s: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if !(BANK_CARD_DIGITS_MIN..=BANK_CARD_DIGITS_MAX).contains(&s.len())
        || !s.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(NumberError::BankCardShape);
    }
    let sum: u32 = s
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let d = u32::from(c - b'0');
            if i % 2 == 1 {
                let d2 = d * 2;
                if d2 > 9 { d2 - 9 } else { d2 }
            } else {
                d
            }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(NumberError::BankCardCheck);
    }
    Ok(s)
}

/// Checks the bank's name as typed.
pub fn check_bank_name(typed: &str) -> Result<String, NumberError> {
    let s = typed.trim();
    if s.is_empty() || s.chars().count() > BANK_NAME_CHARS_MAX || s.chars().any(char::is_control) {
        return Err(NumberError::BankName);
    }
    Ok(s.to_string())
}

/// `5101**********1234`: the first and last four characters of a checked ID-card number.
pub fn mask_id_card(id: &str) -> String {
    let c: Vec<char> = id.chars().collect();
    if c.len() < 8 {
        return "*".repeat(c.len().max(4));
    }
    let head: String = c[..4].iter().collect();
    let tail: String = c[c.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(c.len() - 8))
}

/// `6222 **** **** 1234`: the first and last four digits of a checked bank-card number.
pub fn mask_bank_card(card: &str) -> String {
    if card.len() < 8 || !card.is_ascii() {
        return "****".into();
    }
    format!("{} **** **** {}", &card[..4], &card[card.len() - 4..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_id(typed: &str, expected: Result<&str, NumberError>) {
        assert_eq!(check_id_card(typed), expected.map(str::to_string), "{typed}");
    }

    fn check_bank(typed: &str, expected: Result<&str, NumberError>) {
        assert_eq!(check_bank_card(typed), expected.map(str::to_string), "{typed}");
    }

    #[test]
    fn id_cards_by_gb_11643() {
        // The standard's own example.
        check_id("11010519491231002X", Ok("11010519491231002X"));
        check_id("11010519491231002x", Ok("11010519491231002X"));
        check_id("510104 19900307 0015", Ok("510104199003070015"));
        check_id("110105194912310021", Err(NumberError::IdCardCheck));
        check_id("510104199003070016", Err(NumberError::IdCardCheck));
        check_id("51010419900307001", Err(NumberError::IdCardShape));
        check_id("5101041990030700161", Err(NumberError::IdCardShape));
        check_id("51010419900307001Y", Err(NumberError::IdCardShape));
        check_id("510104199002300010", Err(NumberError::IdCardDate));
        check_id("510104199013070012", Err(NumberError::IdCardDate));
        check_id("", Err(NumberError::IdCardShape));
        check_id("５１０１０４１９９００３０７００１６", Err(NumberError::IdCardShape));
    }

    #[test]
    fn bank_cards_by_luhn() {
        check_bank("6222 0212 3456 7890 128", Ok("6222021234567890128"));
        check_bank("4111-1111-1111-1111", Ok("4111111111111111"));
        check_bank("4111111111111112", Err(NumberError::BankCardCheck));
        check_bank("41111111111", Err(NumberError::BankCardShape));
        check_bank("41111111111111111111", Err(NumberError::BankCardShape));
        check_bank("4111a11111111111", Err(NumberError::BankCardShape));
    }

    #[test]
    fn masks_keep_four_at_each_end() {
        assert_eq!(mask_id_card("510104199003070015"), "5101**********0015");
        assert_eq!(mask_bank_card("6222021234567890128"), "6222 **** **** 0128");
        assert_eq!(mask_bank_card("12"), "****");
        assert!(check_bank_name("中国农业银行").is_ok());
        assert_eq!(check_bank_name("  "), Err(NumberError::BankName));
    }
}
