// TEMPORARY STUB
#![allow(dead_code, unused_variables)]
use super::ConfigErrors;
use std::path::Path;
pub struct LocalUser {
    pub username: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
    pub password_hash: String,
    pub disabled: bool,
}
impl LocalUser {
    pub fn credential_tag(&self) -> String {
        String::new()
    }
}
pub struct UsersFile {
    pub users: Vec<LocalUser>,
}
pub fn parse_users(source: &str, file: &str) -> Result<UsersFile, ConfigErrors> {
    Ok(UsersFile { users: vec![] })
}
pub fn load_users(path: &Path) -> Result<UsersFile, ConfigErrors> {
    Ok(UsersFile { users: vec![] })
}
