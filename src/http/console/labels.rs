//! The console's words in English and Bahasa Indonesia: one table, so a
//! label without both languages does not compile.
//!
//! Values (states, tiers, template ids, tool names) are shown as the API
//! names them, so what an operator reads matches what the API answers.

use crate::core::case::Language;

macro_rules! labels {
    ($($name:ident => $en:literal, $id:literal;)*) => {
        /// A console label.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum L { $($name,)* }

        impl L {
            /// Every label, for the table's own checks.
            #[cfg(test)]
            pub const ALL: &'static [L] = &[$(L::$name,)*];

            /// The label in `lang`.
            pub fn text(self, lang: Language) -> &'static str {
                match (self, lang) {
                    $((L::$name, Language::En) => $en, (L::$name, Language::Id) => $id,)*
                }
            }
        }
    };
}

labels! {
    Console => "Operator console", "Konsol operator";
    SkipToContent => "Skip to content", "Langsung ke isi";
    SignIn => "Sign in", "Masuk";
    SignInIntro => "Sign in with your user token (the one you use for the API).",
        "Masuk dengan token pengguna Anda (yang Anda pakai untuk API).";
    Token => "User token", "Token pengguna";
    SignOut => "Sign out", "Keluar";
    WrongToken => "That token is not known here.", "Token itu tidak dikenal di sini.";
    IngestToken => "The ingest token cannot sign in: use a user token.",
        "Token ingest tidak bisa dipakai masuk: gunakan token pengguna.";
    SignedInAs => "Signed in as", "Masuk sebagai";
    Language => "Language", "Bahasa";
    MyLane => "My lane", "Antrean saya";
    OperatorLane => "Operator lane", "Antrean operator";
    CoachLane => "Coach lane", "Antrean coach";
    Stuck => "Stuck cases", "Kasus macet";
    Desk => "Desk health", "Kondisi layanan";
    BulkRetry => "Bulk retry", "Coba ulang massal";
    Search => "Search", "Cari";
    CustomerNumber => "Customer number", "Nomor pelanggan";
    SearchHint => "Any format: +62 812-3456-7890, 0812 3456 7890, 6281234567890.",
        "Format apa saja: +62 812-3456-7890, 0812 3456 7890, 6281234567890.";
    NothingWaiting => "Nothing is waiting on this lane.", "Tidak ada yang menunggu di antrean ini.";
    OrderedBySla => "Ordered by SLA due, soonest first.", "Diurutkan menurut batas SLA, yang paling dekat dulu.";
    Left => "{} left", "sisa {}";
    Overdue => "overdue {}", "lewat {}";
    Open => "Open", "Buka";
    Case => "Case", "Kasus";
    Customer => "Customer", "Pelanggan";
    State => "State", "Status";
    Tier => "Tier", "Tingkat";
    WaitingOn => "Waiting on", "Menunggu";
    Identity => "Identity", "Identitas";
    Mode => "Mode", "Mode";
    CaseLanguage => "Customer's language", "Bahasa pelanggan";
    OpenedAt => "Opened", "Dibuka";
    UpdatedAt => "Updated", "Diperbarui";
    Tags => "Tags", "Tag";
    Rule => "Rule", "Aturan";
    QaBlock => "Held back by QA", "Ditahan QA";
    StuckReason => "Why it is stuck", "Alasan macet";
    NoStuck => "No case is stuck.", "Tidak ada kasus yang macet.";
    Retry => "Retry", "Coba ulang";
    RetryDone => "The case runs again from its stored state.",
        "Kasus berjalan lagi dari status tersimpan.";
    PendingAction => "Pending action", "Tindakan tertunda";
    NoPendingAction => "Nothing is waiting on a human decision.",
        "Tidak ada yang menunggu keputusan manusia.";
    KindReply => "Reply to approve", "Balasan untuk disetujui";
    KindBooking => "Booking to approve", "Pemesanan jadwal untuk disetujui";
    KindEscalation => "Decision needed", "Perlu keputusan";
    Lane => "Lane", "Antrean";
    Template => "Template", "Template";
    DraftedReply => "Drafted reply", "Draf balasan";
    CustomerWrote => "Customer wrote (untrusted)", "Tulisan pelanggan (tidak terverifikasi)";
    SessionMoved => "Session it moves", "Sesi yang dipindah";
    SlotTaken => "Slot it takes", "Slot yang diambil";
    Due => "SLA due", "Batas SLA";
    Reason => "Reason", "Alasan";
    Approve => "Approve", "Setujui";
    Edit => "Edit and send", "Ubah dan kirim";
    EditText => "Your text (it still passes QA)", "Teks Anda (tetap melewati QA)";
    Deny => "Deny", "Tolak";
    Escalate => "Escalate to coach", "Teruskan ke coach";
    NotYourLane => "You may not decide this lane.", "Anda tidak dapat memutuskan antrean ini.";
    Decided => "Decision recorded.", "Keputusan dicatat.";
    Timeline => "Timeline", "Riwayat";
    MessageIn => "Customer", "Pelanggan";
    MessageOut => "Sent", "Terkirim";
    Transition => "Transition", "Perpindahan";
    ToolCall => "Tool call", "Panggilan alat";
    Attempts => "attempts", "percobaan";
    Decision => "Decision", "Keputusan";
    Event => "Event", "Peristiwa";
    DeliveryStatus => "Delivery", "Pengiriman";
    DegradedMode => "Degraded mode", "Mode terbatas";
    DegradedOn => "On", "Aktif";
    DegradedOff => "Off", "Mati";
    SwitchOn => "Switch degraded mode on", "Aktifkan mode terbatas";
    SwitchOff => "Switch degraded mode off", "Matikan mode terbatas";
    DegradedSwitched => "Degraded mode switched.", "Mode terbatas diubah.";
    AdminOnly => "Only an admin switches degraded mode.", "Hanya admin yang dapat mengubah mode terbatas.";
    Breakers => "Tools and their breakers", "Alat dan pemutusnya";
    Tool => "Tool", "Alat";
    Kind => "Kind", "Jenis";
    Breaker => "Breaker", "Pemutus";
    Failures => "Failures", "Kegagalan";
    LastError => "Last error", "Kesalahan terakhir";
    Since => "Since", "Sejak";
    Until => "Until", "Sampai";
    By => "By", "Oleh";
    History => "History", "Riwayat";
    BulkIntro => "Retry every open case that matches. Count them first; a reason is required and audited.",
        "Coba ulang semua kasus terbuka yang cocok. Hitung dulu; alasan wajib dan dicatat.";
    Filter => "Filter", "Filter";
    Any => "any", "semua";
    OnlyStuck => "Only stuck cases", "Hanya kasus macet";
    Count => "Count matching cases", "Hitung kasus yang cocok";
    Matched => "cases match", "kasus cocok";
    RetryMatched => "Retry these cases", "Coba ulang kasus ini";
    Retried => "cases retried", "kasus dicoba ulang";
    ReasonRequired => "A reason is required.", "Alasan wajib diisi.";
    NoCases => "No case found.", "Tidak ada kasus.";
    More => "More", "Berikutnya";
    CasesOf => "Cases of", "Kasus milik";
    NotFound => "Not found.", "Tidak ditemukan.";
    Refused => "Refused.", "Ditolak.";
    ReadOnly => "Your role reads only.", "Peran Anda hanya dapat membaca.";
    Back => "Back", "Kembali";
    QaAudit => "QA audit", "Audit QA";
    QaIntro => "Draw a random sample of the replies sent in a period (stratified by tier), then label each one.",
        "Ambil sampel acak balasan yang terkirim dalam suatu periode (dibagi per tingkat), lalu beri label satu per satu.";
    DrawSample => "Draw a sample", "Ambil sampel";
    PeriodFrom => "From (date)", "Dari (tanggal)";
    PeriodTo => "To (date, inclusive)", "Sampai (tanggal, termasuk)";
    SampleSize => "Replies to draw (1 to 500)", "Jumlah balasan (1 sampai 500)";
    Seed => "Seed (optional, to draw the same sample again)",
        "Seed (opsional, untuk mengambil sampel yang sama lagi)";
    SeedShort => "Seed", "Seed";
    RecentSamples => "Recent samples", "Sampel terbaru";
    NoSamples => "No sample drawn yet.", "Belum ada sampel.";
    Sample => "Sample", "Sampel";
    Drawn => "Drawn", "Diambil";
    Period => "Period", "Periode";
    Replies => "Replies", "Balasan";
    Labelled => "Labelled", "Berlabel";
    Eligible => "Replies sent in the period", "Balasan terkirim dalam periode";
    Reply => "Reply", "Balasan";
    SentAt => "Sent", "Terkirim";
    ReplyText => "What was sent", "Yang terkirim";
    TextErased => "The text was erased (data subject request).",
        "Teksnya sudah dihapus (permintaan subjek data).";
    EmptySample => "No reply was sent in this period.", "Tidak ada balasan terkirim dalam periode ini.";
    Verdict => "Verdict", "Penilaian";
    VerdictCorrect => "Correct", "Benar";
    VerdictIncorrect => "Incorrect", "Salah";
    VerdictRisky => "Risky", "Berisiko";
    Scores => "Scores (0 poor, 1 partly, 2 good)", "Skor (0 buruk, 1 sebagian, 2 baik)";
    Score0 => "0 poor", "0 buruk";
    Score1 => "1 partly", "1 sebagian";
    Score2 => "2 good", "2 baik";
    Choose => "choose", "pilih";
    Correctness => "Correctness", "Ketepatan";
    Completeness => "Completeness", "Kelengkapan";
    Safety => "Safety", "Keamanan";
    Tone => "Tone", "Nada";
    Efficiency => "Efficiency", "Efisiensi";
    ToolIntegrity => "Tool integrity", "Integritas alat";
    Note => "Note (optional)", "Catatan (opsional)";
    SaveLabel => "Save label", "Simpan label";
    Relabel => "Replace label", "Ganti label";
    LabelledBy => "Labelled by", "Dilabeli oleh";
    LabelSaved => "Label saved.", "Label disimpan.";
    NotLabelled => "Not labelled yet.", "Belum dilabeli.";
    RefusedCrossSite => "Refused: the request does not come from this console's page.",
        "Ditolak: permintaan ini tidak berasal dari halaman konsol ini.";
    RefusedNoSession => "Refused: not signed in, or the session has ended. Sign in again.",
        "Ditolak: belum masuk, atau sesi sudah berakhir. Silakan masuk lagi.";
    RefusedBadCsrf => "Refused: the form's security token is missing or outdated. Reload the page and try again.",
        "Ditolak: token keamanan formulir hilang atau kedaluwarsa. Muat ulang halaman lalu coba lagi.";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_label_has_both_languages_and_countdowns_keep_their_slot() {
        for l in L::ALL {
            for lang in [Language::En, Language::Id] {
                assert!(!l.text(lang).trim().is_empty(), "{l:?} {lang:?}");
            }
        }
        for l in [L::Left, L::Overdue] {
            for lang in [Language::En, Language::Id] {
                assert_eq!(l.text(lang).matches("{}").count(), 1, "{l:?}");
            }
        }
    }
}
