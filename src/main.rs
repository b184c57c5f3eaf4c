fn main() {
    println!("canary-report");
}
