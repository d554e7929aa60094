//! The console's words in Russian and English, by key; templates read them as `t.KEY`.

use crate::language::Language;
use std::collections::BTreeMap;

/// (key, Russian, English).
const WORDS: &[(&str, &str, &str)] = &[
    ("kept_out_item", "Не заявка", "Kept-out item"),
    ("lead_record", "запись заявки (JSON)", "lead record (JSON)"),
    ("this_is_a_lead", "Это заявка", "This is a lead"),
    ("marked_lead", "Признана заявкой", "Marked a lead"),
    ("open_lead", "Открыть заявку", "Open the lead"),
    (
        "processing",
        "Обрабатывается как заявка: обновите страницу через секунду.",
        "Being processed as a lead: reload the page in a second.",
    ),
    (
        "confirm_as_lead",
        "Обработать это сообщение как заявку: назначить менеджера и отправить в CRM?",
        "Process this item as a lead: assign a manager and send it to the CRM?",
    ),
    (
        "not_kept_out",
        "Это сообщение уже не среди «не заявок» (его уже сделали заявкой).",
        "This item is no longer kept out (it has already been made a lead).",
    ),
    (
        "unreadable",
        "Из этого сообщения нельзя сделать заявку:",
        "This item has nothing a lead can be made of:",
    ),
    ("reroute", "Перемаршрутизировать", "Re-route now"),
    (
        "confirm_reroute",
        "Снять заявку с текущего менеджера и заново применить правила?",
        "Release the lead's current assignment and route it again with the rules in force?",
    ),
    (
        "done_reroute",
        "Заявка перемаршрутизирована: {}",
        "The lead was routed again: {}",
    ),
    ("console", "Консоль leadgate", "leadgate console"),
    ("overview", "Обзор", "Overview"),
    ("leads", "Заявки", "Leads"),
    ("not_leads", "Не заявки", "Not leads"),
    ("dead_letters", "Недоставленные", "Dead letters"),
    ("sign_in", "Войти", "Sign in"),
    ("sign_out", "Выйти", "Sign out"),
    ("token", "Токен администратора", "Admin token"),
    (
        "wrong_token",
        "Токен не подошёл.",
        "That token is not right.",
    ),
    (
        "too_many",
        "Слишком много попыток, подождите минуту.",
        "Too many attempts: wait a minute.",
    ),
    (
        "expired",
        "Сессия закончилась, войдите снова.",
        "The session ended: sign in again.",
    ),
    (
        "csrf",
        "Форма устарела: откройте страницу заново и повторите.",
        "The form is stale: reload the page and try again.",
    ),
    ("channel", "Канал", "Channel"),
    ("source", "Источник", "Source"),
    ("level", "Уровень", "Level"),
    ("manager", "Менеджер", "Manager"),
    ("status", "Статус", "Status"),
    ("since", "С", "From"),
    ("until", "По", "Until"),
    ("search", "Телефон, e-mail или имя", "Phone, e-mail or name"),
    ("find", "Найти", "Find"),
    ("any", "все", "any"),
    ("received", "Получена", "Received"),
    ("name", "Имя", "Name"),
    ("phone", "Телефон", "Phone"),
    ("email", "E-mail", "E-mail"),
    ("text", "Текст", "Text"),
    ("next_page", "Дальше →", "Next →"),
    ("first_page", "← К началу", "← First page"),
    ("csv", "Скачать CSV", "Download CSV"),
    ("nothing", "Ничего не найдено.", "Nothing found."),
    ("journey", "Путь заявки", "Lead journey"),
    ("raw", "Как пришло", "As it arrived"),
    ("record", "Нормализованная запись", "Normalised record"),
    ("decision", "Решение маршрутизации", "Routing decision"),
    ("rules_version", "Версия правил", "Rules version"),
    (
        "assignments",
        "Назначения и передачи",
        "Assignments and passes",
    ),
    ("assigned_at", "Назначена", "Assigned"),
    ("due", "Срок", "Due"),
    ("state", "Состояние", "State"),
    ("strategy", "Стратегия", "Strategy"),
    ("deliveries", "Доставка", "Deliveries"),
    (
        "notifications",
        "Уведомления менеджерам",
        "Notifications to managers",
    ),
    ("sink", "Получатель", "Sink"),
    ("event", "Событие", "Event"),
    ("attempts", "Попытки", "Attempts"),
    ("answer", "Ответ", "Answer"),
    ("error", "Ошибка", "Error"),
    ("body", "Тело", "Body"),
    ("audit", "Журнал", "Audit trail"),
    ("at", "Когда", "When"),
    ("what", "Что", "What"),
    ("detail", "Подробности", "Detail"),
    ("actions", "Действия", "Actions"),
    ("resend", "Отправить снова в", "Re-send to"),
    ("confirm", "Подтвердите", "Confirm"),
    (
        "confirm_resend",
        "Отправить событие заявки снова в «{}»?",
        "Send the lead's event to \u{201c}{}\u{201d} again?",
    ),
    (
        "confirm_replay",
        "Вернуть в очередь недоставленные: {}?",
        "Put back in the queue the dead letters: {}?",
    ),
    ("yes", "Да, выполнить", "Yes, do it"),
    ("cancel", "Отмена", "Cancel"),
    (
        "done_resend",
        "Событие поставлено в очередь.",
        "The event is queued.",
    ),
    (
        "done_replay",
        "Возвращено в очередь: {}.",
        "Back in the queue: {}.",
    ),
    ("reason", "Причина", "Reason"),
    ("decided_by", "Что решило", "What decided it"),
    ("last_error", "Последняя ошибка", "Last error"),
    ("replay", "Повторить", "Replay"),
    ("replay_all", "Повторить все", "Replay all"),
    ("all", "все", "all"),
    ("lead", "Заявка", "Lead"),
    (
        "not_found",
        "Нет такой страницы или записи.",
        "No such page or record.",
    ),
    ("matched", "совпало", "matched"),
    ("not_matched", "не совпало", "did not match"),
    ("back", "Назад", "Back"),
    ("rules", "Правила", "Rules"),
    ("reports", "Отчёты", "Reports"),
    ("today", "сегодня", "today"),
    ("days", "дней", "days"),
    ("held", "Ждут менеджера (по уровням)", "Held (per level)"),
    ("incidents", "Открытые инциденты", "Open incidents"),
    ("source_states", "Состояние источников", "Source states"),
    ("last_success", "Последний успех", "Last success"),
    ("cursor", "Курсор", "Cursor"),
    (
        "on_duty",
        "Кто работает сейчас и кто следующий",
        "Who works now and who next",
    ),
    ("now", "Сейчас", "Now"),
    ("next_start", "Начнёт работу", "Starts next"),
    ("working", "работает", "working"),
    ("off_hours", "вне рабочих часов", "off hours"),
    ("day_off", "выходной", "day off"),
    ("holiday", "праздник", "holiday"),
    (
        "inactive",
        "не получает заявок (active = false)",
        "gets no leads (active = false)",
    ),
    ("not_taken", "Не взяты", "Not yet taken"),
    ("cards", "Карточки", "Cards"),
    ("cards_fail", "не доходят", "not delivered"),
    ("show", "Показать", "Show"),
    ("managers", "Менеджеры", "Managers"),
    ("levels", "Уровни", "Levels"),
    ("sources", "Источники", "Sources"),
    ("per_day", "Заявки по дням", "Leads per day"),
    ("day", "День", "Day"),
    ("assigned", "Назначено", "Assigned"),
    ("taken", "Взято", "Taken"),
    ("declined", "Отказ", "Declined"),
    ("passed_on", "Передано дальше", "Passed on"),
    ("sla_breaches", "Нарушений SLA", "SLA breaches"),
    (
        "median_take",
        "Медиана до взятия (рабочее время)",
        "Median time to take (working hours)",
    ),
    (
        "p90_take",
        "90% до взятия (рабочее время)",
        "90th pct. to take (working hours)",
    ),
    ("median_wall", "Медиана по часам", "Median, wall clock"),
    ("p90_wall", "90% по часам", "90th pct., wall clock"),
    ("declines", "Отказы по причинам", "Declines by reason"),
    ("channels", "Каналы", "Channels"),
    ("to_crm", "До CRM: медиана", "To the CRM: median"),
    ("to_crm_p90", "До CRM: 90%", "To the CRM: 90th pct."),
    ("delivered", "Доставлено", "Delivered"),
    (
        "report_note",
        "Дни по UTC. Время до взятия — в рабочих часах менеджера (его расписание в routing.toml, выходные и праздники не считаются) и по часам; время до CRM — от поступления до первой успешной доставки. Всё с точностью до корзины (до взятия: 1, 5, 15, 30 мин, 1, 2, 4, 8, 24 ч; до CRM: 1, 2, 5, 10, 30 с, 1, 5, 15 мин, 1, 4, 24 ч).",
        "Days are UTC. Time to take is counted in the manager's working hours (their schedule in routing.toml; nights, days off and holidays left out) and on the wall clock; time to the CRM runs from arrival to the first successful delivery. All to the bucket (to take: 1, 5, 15, 30 min, 1, 2, 4, 8, 24 h; to the CRM: 1, 2, 5, 10, 30 s, 1, 5, 15 min, 1, 4, 24 h).",
    ),
    ("file", "Файл", "File"),
    ("last_reload", "Последняя загрузка", "Last reload"),
    (
        "refused_save",
        "Последнее отклонённое сохранение",
        "Last refused save",
    ),
    ("tester", "Проверка", "Tester"),
    (
        "tester_hint",
        "Вставьте запись заявки (JSON leadgate.lead.v1, как leadgate route без --channel; пропущенные ключи пусты) или сырое сообщение, как его принимает leadgate route --channel: для веб-формы — JSON с полями, для почты — письмо .eml, для Telegram — update. Решение считается по текущему состоянию: открытые заявки менеджеров, очередь, прежний менеджер контакта. Ничего не записывается.",
        "Paste a lead record (leadgate.lead.v1 JSON, as leadgate route takes it without --channel; keys left out are empty) or a raw sample as leadgate route --channel takes it: a web form's fields as JSON, an .eml for e-mail, an update for Telegram. The decision uses the live state: managers' open leads, the rotation, the contact's previous manager. Nothing is written.",
    ),
    ("sample", "Образец", "Sample"),
    ("try", "Проверить", "Try it"),
];

/// Every word in `lang`, keyed, for a template's `t`.
pub fn words(lang: Language) -> BTreeMap<&'static str, &'static str> {
    WORDS
        .iter()
        .map(|(k, ru, en)| (*k, if lang == Language::En { *en } else { *ru }))
        .collect()
}

/// The word `key` in `lang` with `{}` replaced by `arg`.
pub fn say(lang: Language, key: &str, arg: &str) -> String {
    words(lang)
        .get(key)
        .map(|w| w.replace("{}", arg))
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_word_has_both_languages() {
        for (k, ru, en) in super::WORDS {
            assert!(!ru.is_empty() && !en.is_empty(), "{k}");
        }
    }
}
