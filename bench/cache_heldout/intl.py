# ruff: noqa: RUF001
# Hand-written prompt pairs, one a line; non-Latin and look-alike characters on purpose.
"""Non-English pairs. (kind, lang, a, b)

``lang`` is the prompts' language; ``en-xx`` marks a pair asking the same thing in two
languages: the answer is expected in the asker's language, so those are near misses."""

NEAR_INTL = [
    # Spanish
    ("nm_number", "es", "¿Cuánto es 15 por 12?", "¿Cuánto es 15 por 21?"),
    (
        "nm_negation",
        "es",
        "¿Qué países de la UE usan el euro?",
        "¿Qué países de la UE no usan el euro?",
    ),
    (
        "nm_role_swap",
        "es",
        "Dame indicaciones para ir en coche de Sevilla a Granada.",
        "Dame indicaciones para ir en coche de Granada a Sevilla.",
    ),
    (
        "nm_unit_direction",
        "es",
        "Convierte 30 grados Celsius a Fahrenheit.",
        "Convierte 30 grados Fahrenheit a Celsius.",
    ),
    ("nm_entity", "es", "¿Cuál es la capital de Colombia?", "¿Cuál es la capital de Bolivia?"),
    (
        "nm_pronoun",
        "es",
        "Traduce al inglés: 'Ella es mi jefa.'",
        "Traduce al inglés: 'Él es mi jefe.'",
    ),
    (
        "nm_date",
        "es",
        "¿Qué día de la semana fue el 1 de enero de 2000?",
        "¿Qué día de la semana fue el 1 de enero de 2001?",
    ),
    (
        "nm_quantifier",
        "es",
        "¿Todos los mamíferos ponen huevos?",
        "¿Algunos mamíferos ponen huevos?",
    ),
    # French
    (
        "nm_entity",
        "fr",
        "Quelle est la capitale de la Suisse ?",
        "Quelle est la capitale de la Suède ?",
    ),
    (
        "nm_unit_direction",
        "fr",
        "Convertis 10 miles en kilomètres.",
        "Convertis 10 kilomètres en miles.",
    ),
    (
        "nm_negation",
        "fr",
        "Traduis en anglais : « Il ne mange pas de viande. »",
        "Traduis en anglais : « Il mange de la viande. »",
    ),
    (
        "nm_date",
        "fr",
        "Combien de jours y a-t-il en février 2024 ?",
        "Combien de jours y a-t-il en février 2023 ?",
    ),
    (
        "nm_quantifier",
        "fr",
        "Est-ce que tous les oiseaux volent ?",
        "Est-ce que certains oiseaux volent ?",
    ),
    (
        "nm_comparative",
        "fr",
        "Quel est le plus grand océan du monde ?",
        "Quel est le plus petit océan du monde ?",
    ),
    (
        "nm_preposition",
        "fr",
        "Donne-moi une recette de crêpes avec du lait.",
        "Donne-moi une recette de crêpes sans lait.",
    ),
    # German
    ("nm_number", "de", "Wie viel sind 7 mal 8?", "Wie viel sind 7 mal 9?"),
    ("nm_antonym", "de", "Wann wurde die Berliner Mauer gebaut?", "Wann fiel die Berliner Mauer?"),
    (
        "nm_negation",
        "de",
        "Übersetze ins Englische: 'Ich habe keine Zeit.'",
        "Übersetze ins Englische: 'Ich habe Zeit.'",
    ),
    (
        "nm_entity",
        "de",
        "Ist Wien die Hauptstadt von Österreich?",
        "Ist Wien die Hauptstadt der Schweiz?",
    ),
    ("nm_currency", "de", "Rechne 50 Euro in US-Dollar um.", "Rechne 50 US-Dollar in Euro um."),
    (
        "nm_comparative",
        "de",
        "Wie heißt der größte See, der ganz in Deutschland liegt?",
        "Wie heißt der tiefste See, der ganz in Deutschland liegt?",
    ),
    (
        "nm_modal",
        "de",
        "Darf man auf der deutschen Autobahn rechts überholen?",
        "Muss man auf der deutschen Autobahn rechts fahren?",
    ),
    # Russian
    (
        "nm_role_swap",
        "ru",
        "Переведи с английского на русский: magazine",
        "Переведи с русского на английский: магазин",
    ),
    ("nm_entity", "ru", "Какая столица Австралии?", "Какая столица Австрии?"),
    ("nm_number", "ru", "Сколько будет 12 в квадрате?", "Сколько будет 12 в кубе?"),
    (
        "nm_antonym",
        "ru",
        "Как включить тёмную тему в Windows 11?",
        "Как выключить тёмную тему в Windows 11?",
    ),
    ("nm_entity", "ru", "Кто написал «Преступление и наказание»?", "Кто написал «Войну и мир»?"),
    ("nm_unit_direction", "ru", "Сколько километров в 10 милях?", "Сколько миль в 10 километрах?"),
    ("nm_antonym", "ru", "В каком году распался СССР?", "В каком году был образован СССР?"),
    (
        "nm_negation",
        "ru",
        "Какие планеты Солнечной системы имеют кольца?",
        "Какие планеты Солнечной системы не имеют колец?",
    ),
    # Chinese
    (
        "nm_role_swap",
        "zh",
        "把这句话从中文翻译成英文：我爱你",
        "把这句话从英文翻译成中文：I love you",
    ),
    ("nm_entity", "zh", "中国的首都是哪里？", "日本的首都是哪里？"),
    ("nm_unit_direction", "zh", "100华氏度等于多少摄氏度？", "100摄氏度等于多少华氏度？"),
    ("nm_number", "zh", "列出小于20的所有质数。", "列出小于30的所有质数。"),
    ("nm_antonym", "zh", "如何在Python中安装numpy？", "如何在Python中卸载numpy？"),
    ("nm_antonym", "zh", "鲁迅是哪一年出生的？", "鲁迅是哪一年去世的？"),
    ("nm_modal", "zh", "我可以在托运行李里放充电宝吗？", "我必须把充电宝放在随身行李里吗？"),
    ("nm_entity", "zh", "杭州的人口是多少？", "广州的人口是多少？"),
    ("nm_negation", "zh", "哪些水果含有很多维生素C？", "哪些水果不含维生素C？"),
    # Japanese
    (
        "nm_role_swap",
        "ja",
        "日本語から英語に翻訳してください：「猫が好きです」",
        "英語から日本語に翻訳してください：「I like cats」",
    ),
    ("nm_entity", "ja", "日本の首都はどこですか？", "韓国の首都はどこですか？"),
    ("nm_entity", "ja", "富士山の高さは？", "エベレストの高さは？"),
    ("nm_unit_direction", "ja", "摂氏30度は華氏で何度ですか？", "華氏30度は摂氏で何度ですか？"),
    (
        "nm_antonym",
        "ja",
        "Pythonでリストを昇順に並べ替える方法は？",
        "Pythonでリストを降順に並べ替える方法は？",
    ),
    ("nm_date", "ja", "令和元年は西暦何年ですか？", "平成元年は西暦何年ですか？"),
    # Korean
    ("nm_entity", "ko", "한국의 수도는 어디인가요?", "북한의 수도는 어디인가요?"),
    ("nm_unit_direction", "ko", "10킬로미터는 몇 마일인가요?", "10마일은 몇 킬로미터인가요?"),
    (
        "nm_antonym",
        "ko",
        "파이썬에서 리스트에 요소를 추가하는 방법은?",
        "파이썬에서 리스트에서 요소를 제거하는 방법은?",
    ),
    ("nm_antonym", "ko", "세종대왕은 몇 년에 태어났나요?", "세종대왕은 몇 년에 세상을 떠났나요?"),
    ("nm_target_language", "ko", "'사랑해'를 영어로 번역해 줘.", "'사랑해'를 일본어로 번역해 줘."),
    # Thai
    ("nm_entity", "th", "เมืองหลวงของประเทศไทยคืออะไร", "เมืองหลวงของประเทศลาวคืออะไร"),
    (
        "nm_unit_direction",
        "th",
        "แปลงอุณหภูมิ 40 องศาเซลเซียสเป็นฟาเรนไฮต์",
        "แปลงอุณหภูมิ 40 องศาฟาเรนไฮต์เป็นเซลเซียส",
    ),
    ("nm_number", "th", "15 บวก 27 เท่ากับเท่าไร", "15 ลบ 27 เท่ากับเท่าไร"),
    ("nm_lexical", "th", "แปลคำว่า 'ขอบคุณ' เป็นภาษาอังกฤษ", "แปลคำว่า 'ขอโทษ' เป็นภาษาอังกฤษ"),
    # Arabic
    ("nm_entity", "ar", "ما هي عاصمة مصر؟", "ما هي عاصمة المغرب؟"),
    ("nm_role_swap", "ar", "ترجم كلمة 'شكرا' إلى الإنجليزية", "ترجم 'thank you' إلى العربية"),
    ("nm_number", "ar", "كم يساوي 9 ضرب 7؟", "كم يساوي 9 ضرب 8؟"),
    ("nm_entity", "ar", "هل الحوت من الثدييات؟", "هل القرش من الثدييات؟"),
    (
        "nm_date",
        "ar",
        "كم عدد أيام شهر فبراير في السنة الكبيسة؟",
        "كم عدد أيام شهر فبراير في السنة العادية؟",
    ),
    # Hindi
    ("nm_entity", "hi", "भारत की राजधानी क्या है?", "नेपाल की राजधानी क्या है?"),
    ("nm_unit_direction", "hi", "50 किलोग्राम को पाउंड में बदलें।", "50 पाउंड को किलोग्राम में बदलें।"),
    ("nm_quantifier", "hi", "क्या सभी पक्षी उड़ सकते हैं?", "क्या कुछ पक्षी उड़ सकते हैं?"),
    ("nm_antonym", "hi", "महात्मा गांधी का जन्म कब हुआ था?", "महात्मा गांधी की मृत्यु कब हुई थी?"),
    ("nm_target_language", "hi", "'धन्यवाद' का अंग्रेज़ी में अनुवाद करें।", "'धन्यवाद' का फ़्रेंच में अनुवाद करें।"),
    # Portuguese, Italian
    ("nm_entity", "pt", "Qual é a capital do Brasil?", "Qual é a capital de Portugal?"),
    ("nm_currency", "pt", "Converta 20 dólares em reais.", "Converta 20 reais em dólares."),
    ("nm_negation", "it", "Traduci in inglese: 'Non ho fame.'", "Traduci in inglese: 'Ho fame.'"),
    ("nm_entity", "it", "Quanti abitanti ha Roma?", "Quanti abitanti ha Milano?"),
    # the same question in two languages: the answer is wanted in the asker's language
    (
        "nm_cross_language",
        "en-es",
        "What is the capital of France?",
        "¿Cuál es la capital de Francia?",
    ),
    (
        "nm_cross_language",
        "en-de",
        "How do I reverse a list in Python?",
        "Wie kehre ich eine Liste in Python um?",
    ),
    (
        "nm_cross_language",
        "en-fr",
        "Explain what a REST API is.",
        "Explique ce qu'est une API REST.",
    ),
    ("nm_cross_language", "en-ru", "What is recursion?", "Что такое рекурсия?"),
    ("nm_cross_language", "en-zh", "How tall is Mount Everest?", "珠穆朗玛峰有多高？"),
    (
        "nm_cross_language",
        "en-ja",
        "How do I read a JSON file in Python?",
        "PythonでJSONファイルを読み込む方法は？",
    ),
    # diacritics and tone marks carrying the meaning (the embedder strips accents)
    ("nm_diacritics", "es", "Traduce 'papa' al inglés.", "Traduce 'papá' al inglés."),
    ("nm_diacritics", "es", "¿Qué significa 'si' en inglés?", "¿Qué significa 'sí' en inglés?"),
    ("nm_diacritics", "fr", "Traduis 'pêche' en anglais.", "Traduis 'péché' en anglais."),
    ("nm_diacritics", "fr", "Que veut dire 'ou' en anglais ?", "Que veut dire 'où' en anglais ?"),
    ("nm_diacritics", "de", "Was heißt 'zählen' auf Englisch?", "Was heißt 'zahlen' auf Englisch?"),
    (
        "nm_diacritics",
        "de",
        "Übersetze 'schwül' ins Englische.",
        "Übersetze 'schwul' ins Englische.",
    ),
    (
        "nm_diacritics",
        "ru",
        "Переведи на английский слово 'все'.",
        "Переведи на английский слово 'всё'.",
    ),
    ("nm_diacritics", "vi", "Dịch từ 'ma' sang tiếng Anh.", "Dịch từ 'má' sang tiếng Anh."),
    ("nm_diacritics", "vi", "Dịch từ 'bà' sang tiếng Anh.", "Dịch từ 'ba' sang tiếng Anh."),
    ("nm_diacritics", "pt", "Traduza 'avó' para o inglês.", "Traduza 'avô' para o inglês."),
    # more scripts the embedder barely reads
    ("nm_lexical", "th", "ภาษาไทยมีพยัญชนะกี่ตัว", "ภาษาไทยมีสระกี่ตัว"),
    ("nm_currency", "th", "แปลงเงิน 100 ดอลลาร์สหรัฐเป็นเงินบาท", "แปลงเงิน 100 บาทเป็นดอลลาร์สหรัฐ"),
    ("nm_entity", "th", "ประเทศไทยมีกี่จังหวัด", "ประเทศลาวมีกี่แขวง"),
    ("nm_antonym", "th", "วิธีติดตั้ง Python บน Windows", "วิธีถอนการติดตั้ง Python บน Windows"),
    ("nm_currency", "ko", "1달러는 몇 원인가요?", "1원은 몇 달러인가요?"),
    ("nm_currency", "hi", "10 डॉलर को रुपये में बदलें।", "10 रुपये को डॉलर में बदलें।"),
    (
        "nm_negation",
        "ar",
        "ما هي الدول العربية التي تطل على البحر الأحمر؟",
        "ما هي الدول العربية التي لا تطل على البحر الأحمر؟",
    ),
    ("nm_number", "ja", "100の平方根はいくつですか？", "1000の平方根はいくつですか？"),
]

PARA_INTL = [
    # Spanish
    (
        "p_politeness",
        "es",
        "¿Cuál es la capital de Perú?",
        "¿Me podrías decir cuál es la capital del Perú?",
    ),
    (
        "p_synonym",
        "es",
        "¿Cómo invierto una lista en Python?",
        "¿Cómo puedo darle la vuelta a una lista en Python?",
    ),
    ("p_typo", "es", "¿Cuántos habitantes tiene Mexico?", "¿Cuántos habitantes tiene México?"),
    ("p_question_imperative", "es", "¿Qué es una API REST?", "Explícame qué es una API REST."),
    (
        "p_reorder",
        "es",
        "En Python, ¿cómo se lee un archivo CSV?",
        "¿Cómo se lee un archivo CSV en Python?",
    ),
    (
        "p_case_punct",
        "es",
        "cual es el rio mas largo del mundo",
        "¿Cuál es el río más largo del mundo?",
    ),
    # French
    (
        "p_synonym",
        "fr",
        "Comment trier un dictionnaire par valeur en Python ?",
        "Comment est-ce qu'on trie un dictionnaire par valeur en Python ?",
    ),
    (
        "p_question_imperative",
        "fr",
        "Peux-tu m'expliquer ce qu'est un index en SQL ?",
        "Explique-moi ce qu'est un index en SQL.",
    ),
    (
        "p_case_punct",
        "fr",
        "Quelle est la hauteur de la tour Eiffel ?",
        "quelle est la hauteur de la Tour Eiffel",
    ),
    ("p_reorder", "fr", "Pourquoi le ciel est bleu ?", "Pourquoi le ciel est-il bleu ?"),
    (
        "p_typo",
        "fr",
        "Quelle est la diférence entre TCP et UDP ?",
        "Quelle est la différence entre TCP et UDP ?",
    ),
    (
        "p_politeness",
        "fr",
        "Bonjour, pourriez-vous me dire combien de jours compte une année bissextile ?",
        "Combien de jours compte une année bissextile ?",
    ),
    # German
    (
        "p_reorder",
        "de",
        "Wie spät ist es in Tokio, wenn es in Berlin 12 Uhr ist?",
        "Wenn es in Berlin 12 Uhr ist, wie spät ist es dann in Tokio?",
    ),
    (
        "p_politeness",
        "de",
        "Kannst du mir bitte erklären, was ein Docker-Container ist?",
        "Was ist ein Docker-Container?",
    ),
    (
        "p_synonym",
        "de",
        "Wie installiere ich Node.js unter Ubuntu?",
        "Wie kann ich Node.js auf Ubuntu installieren?",
    ),
    (
        "p_typo",
        "de",
        "Was ist der Unterschied zwischen git merge und git rebase?",
        "Was ist der Unterschid zwischen git merge und git rebase?",
    ),
    ("p_spelling", "de", "Wie viele Einwohner hat München?", "Wieviele Einwohner hat München?"),
    ("p_voice", "de", "Wer hat das Telefon erfunden?", "Von wem wurde das Telefon erfunden?"),
    # Russian
    ("p_reorder", "ru", "Как перевернуть строку в Python?", "Как в Python перевернуть строку?"),
    ("p_politeness", "ru", "Объясни, пожалуйста, что такое рекурсия.", "Что такое рекурсия?"),
    ("p_reorder", "ru", "Какая самая высокая гора в мире?", "Какая гора самая высокая в мире?"),
    ("p_typo", "ru", "Сколько дней в високосном году?", "Сколко дней в високосном году?"),
    (
        "p_question_imperative",
        "ru",
        "Что такое замыкание в JavaScript?",
        "Расскажи, что такое замыкание в JavaScript.",
    ),
    ("p_spelling", "ru", "Сколько весит ёж?", "Сколько весит еж?"),
    # Chinese
    ("p_reorder", "zh", "如何用Python读取JSON文件？", "用Python怎么读取JSON文件？"),
    ("p_politeness", "zh", "请问珠穆朗玛峰有多高？", "珠穆朗玛峰有多高？"),
    ("p_question_imperative", "zh", "什么是机器学习？", "请解释一下什么是机器学习。"),
    ("p_synonym", "zh", "中国有多少个省？", "中国一共有几个省？"),
    ("p_synonym", "zh", "怎样在Linux中查看磁盘空间？", "在Linux里怎么查看磁盘空间？"),
    ("p_case_punct", "zh", "长城有多长", "长城有多长？"),
    # Japanese
    (
        "p_synonym",
        "ja",
        "Pythonで辞書をJSONに変換する方法を教えてください。",
        "PythonでdictをJSONに変換するにはどうすればいいですか？",
    ),
    ("p_synonym", "ja", "日本で一番高い山は何ですか？", "日本の最高峰は何ですか？"),
    ("p_politeness", "ja", "東京の人口は？", "東京の人口はどのくらいですか？"),
    (
        "p_question_imperative",
        "ja",
        "Gitでブランチを削除する方法を教えて。",
        "Gitのブランチを削除するにはどうしたらいいですか？",
    ),
    (
        "p_spelling",
        "ja",
        "コンピュータのメモリとは何ですか？",
        "コンピューターのメモリとは何ですか？",
    ),
    # Korean
    ("p_synonym", "ko", "서울의 인구는 얼마인가요?", "서울 인구가 몇 명이에요?"),
    (
        "p_question_imperative",
        "ko",
        "파이썬에서 문자열을 뒤집는 방법을 알려주세요.",
        "파이썬으로 문자열을 뒤집으려면 어떻게 해야 하나요?",
    ),
    ("p_question_imperative", "ko", "김치는 어떻게 만드나요?", "김치 만드는 방법을 알려줘."),
    ("p_reorder", "ko", "HTTP와 HTTPS의 차이점은 무엇인가요?", "HTTPS와 HTTP의 차이는 뭐예요?"),
    # Thai
    ("p_politeness", "th", "ช่วยอธิบายหน่อยว่า Docker คืออะไร", "Docker คืออะไร"),
    ("p_synonym", "th", "กรุงเทพมีประชากรกี่คน", "กรุงเทพฯ มีประชากรเท่าไหร่"),
    ("p_question_imperative", "th", "ภูเขาที่สูงที่สุดในประเทศไทยคืออะไร", "บอกชื่อภูเขาที่สูงที่สุดในประเทศไทย"),
    # Arabic
    ("p_synonym", "ar", "ما هي عاصمة اليابان؟", "ما عاصمة اليابان؟"),
    ("p_synonym", "ar", "كيف أتعلم البرمجة بلغة بايثون؟", "ما هي طريقة تعلم البرمجة بلغة بايثون؟"),
    ("p_politeness", "ar", "من فضلك، اشرح لي ما هو الذكاء الاصطناعي.", "ما هو الذكاء الاصطناعي؟"),
    ("p_synonym", "ar", "كم يبلغ ارتفاع برج خليفة؟", "ما هو ارتفاع برج خليفة؟"),
    # Hindi
    ("p_spelling", "hi", "ताजमहल कहाँ स्थित है?", "ताज महल कहां स्थित है?"),
    (
        "p_question_imperative",
        "hi",
        "पायथन में लिस्ट को कैसे सॉर्ट करें?",
        "पायथन में लिस्ट सॉर्ट करने का तरीका बताइए।",
    ),
    ("p_politeness", "hi", "कृपया बताइए कि इंटरनेट कैसे काम करता है।", "इंटरनेट कैसे काम करता है?"),
    ("p_synonym", "hi", "भारत में कितने राज्य हैं?", "भारत में राज्यों की संख्या कितनी है?"),
    # Portuguese, Italian
    (
        "p_synonym",
        "pt",
        "Como faço para criar um ambiente virtual no Python?",
        "Como criar um ambiente virtual em Python?",
    ),
    (
        "p_reorder",
        "pt",
        "Qual a diferença entre let e var em JavaScript?",
        "Qual é a diferença entre var e let no JavaScript?",
    ),
    (
        "p_synonym",
        "it",
        "Come si dice 'buongiorno' in inglese?",
        "Come si traduce 'buongiorno' in inglese?",
    ),
    (
        "p_synonym",
        "it",
        "Qual è la montagna più alta d'Italia?",
        "Qual è il monte più alto d'Italia?",
    ),
    ("p_synonym", "th", "ประเทศไทยมีกี่จังหวัด", "ประเทศไทยมีจังหวัดทั้งหมดกี่จังหวัด"),
    ("p_unicode", "fr", "Qu'est-ce qu'un café crème ?", "Qu'est-ce qu'un cafe\u0301 cre\u0300me ?"),
    ("p_unicode", "ja", "ＡＰＩとは何ですか？", "APIとは何ですか？"),
    ("p_synonym", "vi", "Thủ đô của Việt Nam là gì?", "Thủ đô Việt Nam là thành phố nào?"),
]
