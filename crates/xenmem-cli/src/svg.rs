pub fn render(_r: &crate::exec::Report) -> String {
    String::new()
}
