"""Russian for the residents' pages, the bulk import and the photo checks (merged into
`ru.RU`; a file of its own so the residents' strings stay together)."""

from __future__ import annotations

RU_RESIDENTS: dict[str, str | tuple[str, str, str]] = {
    # the list
    "Show everyone": "Показать всех",
    "matching “{q}”": "по запросу «{q}»",
    "page {page} of {pages}": "страница {page} из {pages}",
    "apt. {apartment}": "кв. {apartment}",
    "{n} photo": ("{n} фотография", "{n} фотографии", "{n} фотографий"),
    "inactive": "не активен",
    "until {day}": "до {day}",
    "Nobody matches.": "Никого не найдено.",
    "Pages": "Страницы",
    "Previous": "Назад",
    "Next": "Дальше",
    "Import many from a spreadsheet (CSV) and a zip of photos": (
        "Загрузить многих сразу из таблицы (CSV) и zip-архива с фотографиями"
    ),
    # a resident's page
    "inactive: the door does not open for them": "не активен: дверь ему не открывается",
    "Photo {file}": "Фотография {file}",
    "One person, looking at the camera, face well lit and filling a good part of the picture.": (
        "Один человек, смотрит в камеру, лицо хорошо освещено и занимает заметную часть кадра."
    ),
    "Access": "Доступ",
    "Inactive: no rule lets them in.": "Не активен: ни одно правило его не пропускает.",
    "No access rule exists yet, so every active resident may open every entrance.": (
        "Правил доступа пока нет, поэтому любой активный жилец может открыть любой вход."
    ),
    "off": "выключено",
    "guest pass, used {uses} of {max}": "гостевой пропуск, использован {uses} из {max}",
    "No rule names them: the door stays shut for them.": (
        "Ни одно правило его не называет: дверь ему не откроется."
    ),
    "Recent events": "Последние события",
    "All their events": "Все его события",
    "active (untick to deactivate: the door stops opening for them, their photos are kept)": (
        "активен (снимите отметку, чтобы отключить: дверь перестанет открываться, "
        "фотографии сохранятся)"
    ),
    "Check:": "Проверьте:",
    "Enrolled {file}: the door knows this face now.": (
        "{file} добавлена: теперь дверь знает это лицо."
    ),
    "Not enrolled:": "Не добавлено:",
    "this photo does not look like their other photos: is it really them?": (
        "эта фотография не похожа на другие его фотографии: это точно он?"
    ),
    "this face already belongs to another resident. If it really is them, tick the box "
    "below and upload again.": (
        "это лицо уже принадлежит другому жильцу. Если это действительно он, отметьте "
        "пункт ниже и загрузите ещё раз."
    ),
    "enrolled although the face looks like another resident (you confirmed it).": (
        "добавлено, хотя лицо похоже на другого жильца (вы это подтвердили)."
    ),
    # the import
    "Import residents": "Загрузка жильцов",
    "Nothing was imported: {why}": "Ничего не загружено: {why}",
    "Import report": "Итог загрузки",
    "{n} resident added": ("добавлен {n} жилец", "добавлено {n} жильца", "добавлено {n} жильцов"),
    "{n} row skipped": ("пропущена {n} строка", "пропущено {n} строки", "пропущено {n} строк"),
    "Line": "Строка",
    "Result": "Результат",
    "added": "добавлен",
    "skipped": "пропущено",
    "photo enrolled": "фотография добавлена",
    "No photo yet: the door cannot recognise them until one is added.": (
        "Фотографии нет: дверь не узнает его, пока её не добавят."
    ),
    "Files in the zip that no row named:": "Файлы в архиве, которые не названы ни в одной строке:",
    "Files": "Файлы",
    "Residents (CSV file)": "Жильцы (файл CSV)",
    "Photos (zip file, optional)": "Фотографии (zip-архив, необязательно)",
    "Import": "Загрузить",
    "Checking every photo: with many photos this takes a while…": (
        "Проверяем каждую фотографию: если их много, это займёт время…"
    ),
    "The CSV file": "Файл CSV",
    "The first line names the columns: name (required), apartment, photo, notes. Each "
    "further line is one resident. Save from Excel as “CSV UTF-8”; commas, semicolons or "
    "tabs all work.": (
        "В первой строке названия столбцов: name или имя (обязательно), apartment или "
        "квартира, photo или фото, notes или примечание. Каждая следующая строка — один "
        "жилец. В Excel сохраняйте как «CSV UTF-8»; разделители — запятая, точка с запятой "
        "или табуляция."
    ),
    "The photo column names files in the zip (several separated by ;). Each photo needs one "
    "clear face looking at the camera. A row whose photos are all refused is not added; a "
    "name that exists already is skipped.": (
        "В столбце фото — имена файлов из архива (несколько через ;). На каждой фотографии "
        "одно чёткое лицо, смотрящее в камеру. Строка, все фотографии которой отклонены, не "
        "добавляется; уже существующее имя пропускается."
    ),
    "Limits: {rows} rows; the zip at most {zip} MB, {entries} files, {unpacked} MB unpacked.": (
        "Ограничения: {rows} строк; архив не больше {zip} МБ, {entries} файлов, {unpacked} МБ "
        "в распакованном виде."
    ),
    "Only an operator or an admin can import.": (
        "Загружать жильцов может только оператор или администратор."
    ),
    # why a photo or a row was refused
    "no face found": "лицо не найдено",
    "several faces: one person per photo": "несколько лиц: на фотографии должен быть один человек",
    "face too small: step closer": "лицо слишком маленькое: подойдите ближе",
    "too dark": "слишком темно",
    "too bright: avoid flash and direct light": "слишком светло: без вспышки и прямого света",
    "too blurry": "слишком размыто",
    "looking away: look straight at the camera": "взгляд в сторону: смотрите прямо в камеру",
    "not a photo this server can read": "это не фотография, которую сервер может прочитать",
    "file too large": "файл слишком большой",
    "this face belongs to another resident": "это лицо принадлежит другому жильцу",
    "photo not found in the zip": "фотографии нет в архиве",
    "file name points outside the zip: refused": "имя файла указывает за пределы архива: отклонено",
    "several files in the zip have this name": "в архиве несколько файлов с таким именем",
    "photo too large": "фотография слишком большая",
    "the file cannot be unpacked": "файл не распаковывается",
    "duplicate: a resident with this name exists": "повтор: жилец с таким именем уже есть",
    "bad CSV row": "ошибка в строке CSV",
    "no usable photo": "нет подходящей фотографии",
    "not imported": "не загружено",
}
